# Builds the registry and runs it as an unprivileged user.
FROM rust:1.95-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends pkg-config libssl-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY src ./src
COPY migrations ./migrations
RUN cargo build --release --locked

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/registry --create-home registry \
    && install -d -o registry -m 700 /var/lib/registry/data /var/lib/registry/key
COPY --from=build /src/target/release/registry /usr/local/bin/registry
USER registry
WORKDIR /var/lib/registry
ENV REGISTRY_BIND=0.0.0.0:8080 \
    REGISTRY_DATA_DIR=/var/lib/registry/data \
    DATABASE_URL=sqlite:///var/lib/registry/data/registry.db
VOLUME ["/var/lib/registry/data"]
# 8080 plain (behind a proxy, or on one machine); 8443 with REGISTRY_TLS_CERT and _KEY.
EXPOSE 8080 8443
# SIGTERM (docker stop) lets in-flight requests finish.
STOPSIGNAL SIGTERM
CMD ["registry", "serve"]
