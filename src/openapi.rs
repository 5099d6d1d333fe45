//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::http::{
    agencies, audit, auth, events, firearms, holders, ops, pagination, reports, role_grants,
    stockpiles, tlog, trace, trace_requests, users, webhooks, Problem,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Weapons marking and record-keeping registry",
        description = "Registers small arms and light weapons by their unique markings and keeps \
                       their custody histories, in the manner of the UN International Tracing \
                       Instrument. Every error is application/problem+json (RFC 9457) with a \
                       stable `code`. POST requests accept `Idempotency-Key`."
    ),
    paths(
        ops::health, ops::ready, ops::metrics,
        auth::login, auth::me, auth::change_password,
        auth::open_session, auth::show_session, auth::end_session,
        agencies::create, agencies::list, agencies::show,
        users::create, users::list, users::disable, users::set_roles, users::reset_password,
        role_grants::list, role_grants::approve, role_grants::reject,
        firearms::register, firearms::list, firearms::show, firearms::import,
        events::record, events::history, events::evidence, events::destroy,
        audit::entries, audit::head, audit::checkpoint, audit::key, audit::inclusion,
        audit::consistency, audit::verify, audit::export,
        tlog::checkpoint, tlog::tile,
        trace::trace, trace::notifications,
        trace_requests::create, trace_requests::list, trace_requests::show,
        trace_requests::acknowledge, trace_requests::respond,
        stockpiles::create, stockpiles::list, stockpiles::show, stockpiles::firearms,
        stockpiles::open, stockpiles::sightings, stockpiles::show_check, stockpiles::close,
        holders::create, holders::search, holders::show, holders::firearms,
        holders::add_licence, holders::revoke,
        reports::statistics, reports::iti, reports::att, reports::sdg,
        webhooks::create, webhooks::list, webhooks::show, webhooks::rotate_secret,
        webhooks::disable, webhooks::enable, webhooks::deliveries, webhooks::replay,
    ),
    components(schemas(
        Problem, crate::error::FieldError,
        auth::LoginRequest, auth::TokenResponse, auth::Me, auth::ChangePassword,
        auth::SessionInfo,
        agencies::CreateAgency, agencies::AgencyView, pagination::Page<agencies::AgencyView>,
        users::CreateUser, users::SetRoles, users::UserView, pagination::Page<users::UserView>,
        users::ResetPassword, users::PendingGrant, users::CreatedUser, users::PendingRoles,
        role_grants::GrantView, pagination::Page<role_grants::GrantView>,
        crate::firearms::RegisterFirearm, crate::input::MarkingInput,
        crate::firearms::input::ComponentInput, crate::input::HolderInput,
        crate::firearms::view::FirearmView, pagination::Page<crate::firearms::view::FirearmView>,
        crate::firearms::ImportReport, crate::firearms::bulk::ImportedRow, crate::firearms::bulk::RowError,
        events::EventView, events::RecordedBy, events::Recorded, events::History,
        crate::audit::evidence::Bundle, crate::audit::evidence::Proven, crate::audit::evidence::ProvenEntry,
        events::DestructionRequest, events::DestructionResult, crate::events::DestructionFailure,
        audit::EntryView, audit::ActorView, pagination::Page<audit::EntryView>, audit::HeadView, audit::WitnessView, audit::KeyView,
        audit::InclusionProof, audit::ConsistencyProof, crate::audit::verify::Report,
        trace::MatchView, trace::TraceResult, trace::Notification, pagination::Page<trace::Notification>,
        trace_requests::TraceRequestView, pagination::Page<trace_requests::TraceRequestView>,
        crate::trace::requests::CreateRequest, crate::trace::requests::RespondRequest,
        crate::trace::requests::ObservedFirearm, crate::trace::requests::ObservedMarking,
        crate::trace::requests::Circumstances, crate::input::RecipientInput,
        crate::stockpiles::ArmouryView, pagination::Page<crate::stockpiles::ArmouryView>,
        crate::holders::HolderView, crate::holders::IdentifierView, crate::holders::Holding, crate::holders::HeldFirearm,
        pagination::Page<crate::holders::HolderView>, pagination::Page<crate::holders::Holding>,
        crate::holders::input::CreateHolder, crate::holders::input::IdentifierInput,
        crate::holders::input::CreateLicence, crate::holders::input::RevokeLicence,
        crate::holders::licences::LicenceView, crate::holders::licences::Revoked,
        crate::stockpiles::input::CreateArmoury, crate::stockpiles::input::OpenCheck,
        crate::stockpiles::input::Sightings, crate::stockpiles::input::SightingInput,
        crate::stockpiles::input::CloseCheck, crate::stockpiles::checks::CheckView,
        crate::stockpiles::checks::CheckedBy, crate::stockpiles::checks::SightingOutcome,
        crate::stockpiles::checks::SightingsAnswer, crate::stockpiles::report::CheckReport,
        crate::stockpiles::report::ReportItem, crate::stockpiles::report::UnmatchedItem,
        crate::stockpiles::report::LostItem, crate::stockpiles::report::NotReported, crate::domain::SightingResult,
        crate::reports::Statistics, crate::reports::FirearmFigures, crate::reports::EventFigures,
        crate::reports::TraceFigures, crate::reports::ItiReport, crate::reports::Destroyed,
        crate::reports::AttReport, crate::reports::AttRow, crate::reports::SdgReport,
        crate::webhooks::CreateWebhook, crate::webhooks::WebhookView, crate::webhooks::DeliveryView,
        crate::webhooks::AttemptView, pagination::Page<crate::webhooks::WebhookView>,
        pagination::Page<crate::webhooks::DeliveryView>,
    )),
    modifiers(&BearerAuth, &Problems),
    tags(
        (name = "service", description = "Health, readiness and metrics"),
        (name = "auth", description = "Logging in"),
        (name = "accounts", description = "Agencies and users"),
        (name = "firearms", description = "Firearm records, unique markings and bulk registration"),
        (name = "lifecycle", description = "Events in a firearm's life, batch destruction, custody histories"),
        (name = "audit", description = "The tamper-evident audit log (RFC 9162), for auditors"),
        (name = "tracing", description = "Tracing firearms from observed markings; requests between agencies (ITI)"),
        (name = "holders", description = "Holders, their licences, and what they hold"),
        (name = "stockpiles", description = "Armouries, what they hold, and stock checks against the records"),
        (name = "reports", description = "Statistics and national reports (ITI, ATT, SDG 16.4.2)"),
        (name = "webhooks", description = "Signed deliveries to an agency's own systems when something happens"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// Every failure is `application/problem+json`, documented or not: the
/// error answers the handlers list are given that type, and each operation
/// gains a `default` answer for the failures every endpoint shares (a
/// missing token, a malformed request, an unavailable database, ...).
struct Problems;

impl Modify for Problems {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
        let problem = || {
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in operations.into_iter().flatten() {
                for (status, response) in op.responses.responses.iter_mut() {
                    let RefOr::T(response) = response else {
                        continue;
                    };
                    if status.starts_with('2') || status.starts_with('3') {
                        continue;
                    }
                    if let Some(content) = response.content.shift_remove("application/json") {
                        response
                            .content
                            .insert("application/problem+json".into(), content);
                    }
                }
                op.responses.responses.insert(
                    "default".into(),
                    RefOr::T(
                        ResponseBuilder::new()
                            .description("Any other failure, as an RFC 9457 problem with a stable `code` (docs/errors.md)")
                            .content("application/problem+json", problem())
                            .build(),
                    ),
                );
            }
        }
    }
}
