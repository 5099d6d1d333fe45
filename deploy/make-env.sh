#!/usr/bin/env bash
# Writes .env with fresh random secrets for docker-compose.yml, and a
# self-signed certificate in tls/ if there is none yet. Replace tls/cert.pem
# and tls/key.pem with the agency's own before anyone else connects.
set -euo pipefail
cd "$(dirname "$0")/.."
umask 077
if [ -e .env ]; then
  echo ".env exists; not overwriting it" >&2
else
  {
    echo "POSTGRES_PASSWORD=$(openssl rand -hex 24)"
    echo "REGISTRY_ADMIN_PASSWORD=$(openssl rand -base64 18)"
    echo "REGISTRY_JWT_SECRET=$(openssl rand -hex 32)"
  } > .env
  echo "wrote .env (the admin password is in it; keep it safe)"
fi
mkdir -p tls
chmod 755 tls
if [ ! -e tls/cert.pem ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout tls/key.pem -out tls/cert.pem -days 365 -subj "/CN=${REGISTRY_HOST:-localhost}" \
    -addext "subjectAltName=DNS:${REGISTRY_HOST:-localhost}" 2>/dev/null
  # The registry runs as its own user in the container and must read the
  # key; on a shared host, chown it to that user's uid and make it 0600.
  chmod 644 tls/key.pem
  echo "wrote a self-signed certificate for ${REGISTRY_HOST:-localhost} in tls/"
fi
