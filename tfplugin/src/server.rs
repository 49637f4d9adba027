//! Serving a [`Provider`] to Terraform: the protocol 6 handlers and the gRPC routing.
//!
//! Every handler answers with diagnostics rather than gRPC errors, so Terraform shows the
//! problem next to the configuration. Provider code runs in its own task: a panic becomes an
//! error diagnostic and the server keeps going.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::body::Body;
use tonic::{Status, Streaming};
use tonic_prost::ProstCodec;

use crate::codec::{block_type, from_json, from_msgpack, to_msgpack};
use crate::diagnostics::Diagnostics;
use crate::proto;
use crate::resource::{ApplyRequest, DataSource, PlanRequest, Provider, Resource};
use crate::schema::{Schema, Type};
use crate::value::Value;
use crate::wire;

pub use crate::transport::{serve, started_by_terraform, ServeError};

/// Terraform sends configurations and states of up to 256 MiB; so may we.
const MAX_MESSAGE: usize = 256 << 20;

/// A registered resource or data source with its schema and the type of its values.
struct Registered<T: ?Sized> {
    imp: Arc<T>,
    schema: Schema,
    ty: Type,
}

impl<T: ?Sized> Registered<T> {
    fn new(imp: Arc<T>, schema: Schema) -> Self {
        let ty = block_type(&schema.block);
        Registered { imp, schema, ty }
    }
}

/// The provider and everything derived from it once at start-up.
pub(crate) struct Server {
    provider: Arc<dyn Provider>,
    provider_schema: Schema,
    provider_type: Type,
    resources: HashMap<String, Registered<dyn Resource>>,
    data_sources: HashMap<String, Registered<dyn DataSource>>,
    /// Problems found while registering (duplicate type names), reported with the schema.
    setup: Diagnostics,
    schema_response: OnceLock<proto::GetProviderSchemaResponse>,
    shutdown: CancellationToken,
}

impl Server {
    pub(crate) fn new(provider: Arc<dyn Provider>, shutdown: CancellationToken) -> Self {
        let mut setup = Diagnostics::default();
        let mut resources = HashMap::new();
        for r in provider.resources() {
            let name = r.type_name().to_owned();
            let schema = r.schema();
            if resources
                .insert(name.clone(), Registered::new(r, schema))
                .is_some()
            {
                setup.error(
                    format!("Resource type {name} is registered twice"),
                    "This is a bug in the provider.",
                );
            }
        }
        let mut data_sources = HashMap::new();
        for d in provider.data_sources() {
            let name = d.type_name().to_owned();
            let schema = d.schema();
            if data_sources
                .insert(name.clone(), Registered::new(d, schema))
                .is_some()
            {
                setup.error(
                    format!("Data source type {name} is registered twice"),
                    "This is a bug in the provider.",
                );
            }
        }
        let provider_schema = provider.schema();
        let provider_type = block_type(&provider_schema.block);
        Server {
            provider,
            provider_schema,
            provider_type,
            resources,
            data_sources,
            setup,
            schema_response: OnceLock::new(),
            shutdown,
        }
    }

    fn capabilities() -> proto::ServerCapabilities {
        proto::ServerCapabilities {
            // Resources see destroys in `plan` (with a null proposed state).
            plan_destroy: true,
            // Terraform may reuse a schema it fetched from another instance of this binary.
            get_provider_schema_optional: true,
            move_resource_state: false,
        }
    }

    fn get_metadata(&self) -> proto::GetMetadataResponse {
        let mut resources: Vec<_> = self.resources.keys().cloned().collect();
        let mut data_sources: Vec<_> = self.data_sources.keys().cloned().collect();
        resources.sort();
        data_sources.sort();
        let named = |names: Vec<String>| {
            names
                .into_iter()
                .map(|type_name| proto::TypeNameOnly { type_name })
                .collect()
        };
        proto::GetMetadataResponse {
            server_capabilities: Some(Self::capabilities()),
            diagnostics: wire::diagnostics(&self.setup),
            data_sources: named(data_sources),
            resources: named(resources),
        }
    }

    fn get_provider_schema(&self) -> proto::GetProviderSchemaResponse {
        self.schema_response
            .get_or_init(|| proto::GetProviderSchemaResponse {
                provider: Some(wire::schema(&self.provider_schema)),
                resource_schemas: self
                    .resources
                    .iter()
                    .map(|(n, r)| (n.clone(), wire::schema(&r.schema)))
                    .collect(),
                data_source_schemas: self
                    .data_sources
                    .iter()
                    .map(|(n, d)| (n.clone(), wire::schema(&d.schema)))
                    .collect(),
                diagnostics: wire::diagnostics(&self.setup),
                provider_meta: None,
                server_capabilities: Some(Self::capabilities()),
            })
            .clone()
    }

    fn resource(&self, name: &str, diags: &mut Diagnostics) -> Option<&Registered<dyn Resource>> {
        let found = self.resources.get(name);
        if found.is_none() {
            diags.error(
                format!("Unknown resource type {name}"),
                "This provider does not have that resource type.",
            );
        }
        found
    }

    fn data_source(
        &self,
        name: &str,
        diags: &mut Diagnostics,
    ) -> Option<&Registered<dyn DataSource>> {
        let found = self.data_sources.get(name);
        if found.is_none() {
            diags.error(
                format!("Unknown data source type {name}"),
                "This provider does not have that data source type.",
            );
        }
        found
    }

    fn validate_provider_config(
        &self,
        req: proto::ValidateProviderConfigRequest,
    ) -> proto::ValidateProviderConfigResponse {
        let mut diags = Diagnostics::default();
        decode(
            req.config.as_ref(),
            &self.provider_type,
            "provider configuration",
            &mut diags,
        );
        proto::ValidateProviderConfigResponse {
            diagnostics: wire::diagnostics(&diags),
        }
    }

    async fn validate_resource_config(
        &self,
        req: proto::ValidateConfigRequest,
    ) -> proto::DiagnosticsResponse {
        let mut diags = Diagnostics::default();
        if let Some(r) = self.resource(&req.type_name, &mut diags) {
            if let Some(config) = decode(req.config.as_ref(), &r.ty, "configuration", &mut diags) {
                let imp = r.imp.clone();
                guarded(
                    format!("validation of {}", req.type_name),
                    &mut diags,
                    async move {
                        let mut d = Diagnostics::default();
                        imp.validate(&config, &mut d).await;
                        (Some(()), d)
                    },
                )
                .await;
            }
        }
        proto::DiagnosticsResponse {
            diagnostics: wire::diagnostics(&diags),
        }
    }

    async fn validate_data_resource_config(
        &self,
        req: proto::ValidateConfigRequest,
    ) -> proto::DiagnosticsResponse {
        let mut diags = Diagnostics::default();
        if let Some(d) = self.data_source(&req.type_name, &mut diags) {
            if let Some(config) = decode(req.config.as_ref(), &d.ty, "configuration", &mut diags) {
                let imp = d.imp.clone();
                guarded(
                    format!("validation of {}", req.type_name),
                    &mut diags,
                    async move {
                        let mut d = Diagnostics::default();
                        imp.validate(&config, &mut d).await;
                        (Some(()), d)
                    },
                )
                .await;
            }
        }
        proto::DiagnosticsResponse {
            diagnostics: wire::diagnostics(&diags),
        }
    }

    async fn upgrade_resource_state(
        &self,
        req: proto::UpgradeResourceStateRequest,
    ) -> proto::UpgradeResourceStateResponse {
        let mut diags = Diagnostics::default();
        let upgraded_state = self.upgrade(&req, &mut diags).await;
        proto::UpgradeResourceStateResponse {
            upgraded_state,
            diagnostics: wire::diagnostics(&diags),
        }
    }

    async fn upgrade(
        &self,
        req: &proto::UpgradeResourceStateRequest,
        diags: &mut Diagnostics,
    ) -> Option<proto::DynamicValue> {
        let r = self.resource(&req.type_name, diags)?;
        let raw = req.raw_state.clone().unwrap_or_default();
        if raw.json.is_empty() {
            if !raw.flatmap.is_empty() {
                diags.error(
                    format!("Cannot read the stored state of {}", req.type_name),
                    "The state is in the flatmap format of Terraform 0.11 and earlier; \
                     refresh it with a Terraform version that converts it first.",
                );
                return None;
            }
            return encode(&Value::Null, &r.ty, "upgraded state", diags);
        }
        let json: serde_json::Value = match serde_json::from_slice(&raw.json) {
            Ok(json) => json,
            Err(e) => {
                diags.error(
                    format!("Stored state of {} is not JSON", req.type_name),
                    e.to_string(),
                );
                return None;
            }
        };
        let state = if req.version == r.schema.version {
            match from_json(&json, &r.ty) {
                Ok(v) => v,
                Err(e) => {
                    diags.error(
                        format!("Cannot read the stored state of {}", req.type_name),
                        format!(
                            "The state does not match schema version {}: {e}",
                            req.version
                        ),
                    );
                    return None;
                }
            }
        } else {
            tracing::info!(
                type_name = %req.type_name,
                from = req.version,
                to = r.schema.version,
                "upgrading stored state"
            );
            let imp = r.imp.clone();
            let version = req.version;
            guarded(
                format!("state upgrade of {}", req.type_name),
                diags,
                async move {
                    let mut d = Diagnostics::default();
                    let out = imp.upgrade(version, &json, &mut d).await;
                    (out, d)
                },
            )
            .await?
        };
        encode(&state, &r.ty, "upgraded state", diags)
    }

    async fn configure_provider(
        &self,
        req: proto::ConfigureProviderRequest,
    ) -> proto::DiagnosticsResponse {
        let mut diags = Diagnostics::default();
        tracing::debug!(terraform_version = %req.terraform_version, "configure");
        if let Some(config) = decode(
            req.config.as_ref(),
            &self.provider_type,
            "provider configuration",
            &mut diags,
        ) {
            let provider = self.provider.clone();
            guarded("provider configuration".into(), &mut diags, async move {
                let mut d = Diagnostics::default();
                provider.configure(&config, &mut d).await;
                (Some(()), d)
            })
            .await;
        }
        proto::DiagnosticsResponse {
            diagnostics: wire::diagnostics(&diags),
        }
    }

    async fn read_resource(&self, req: proto::ReadResourceRequest) -> proto::ReadResourceResponse {
        let mut diags = Diagnostics::default();
        let mut new_state = req.current_state.clone();
        if let Some(r) = self.resource(&req.type_name, &mut diags) {
            if let Some(state) = decode(
                req.current_state.as_ref(),
                &r.ty,
                "current state",
                &mut diags,
            ) {
                let imp = r.imp.clone();
                let read = guarded(
                    format!("read of {}", req.type_name),
                    &mut diags,
                    async move {
                        let mut d = Diagnostics::default();
                        let out = imp.read(&state, &mut d).await;
                        (out, d)
                    },
                )
                .await;
                if let Some(read) = read {
                    new_state = encode(&read, &r.ty, "state after read", &mut diags).or(new_state);
                }
            }
        }
        proto::ReadResourceResponse {
            new_state,
            diagnostics: wire::diagnostics(&diags),
            private: req.private,
        }
    }

    async fn plan_resource_change(
        &self,
        req: proto::PlanResourceChangeRequest,
    ) -> proto::PlanResourceChangeResponse {
        let mut diags = Diagnostics::default();
        let mut response = proto::PlanResourceChangeResponse::default();
        if let Some(r) = self.resource(&req.type_name, &mut diags) {
            let values = (
                decode(req.prior_state.as_ref(), &r.ty, "prior state", &mut diags),
                decode(
                    req.proposed_new_state.as_ref(),
                    &r.ty,
                    "proposed state",
                    &mut diags,
                ),
                decode(req.config.as_ref(), &r.ty, "configuration", &mut diags),
            );
            if let (Some(prior), Some(proposed), Some(config)) = values {
                let imp = r.imp.clone();
                let plan = guarded(
                    format!("plan of {}", req.type_name),
                    &mut diags,
                    async move {
                        let mut d = Diagnostics::default();
                        let request = PlanRequest {
                            prior: (!prior.is_null()).then_some(&prior),
                            proposed: &proposed,
                            config: &config,
                        };
                        let out = imp.plan(request, &mut d).await;
                        (out, d)
                    },
                )
                .await;
                if let Some(plan) = plan {
                    response.planned_state =
                        encode(&plan.planned, &r.ty, "planned state", &mut diags);
                    response.requires_replace =
                        plan.requires_replace.iter().map(wire::path).collect();
                }
            }
        }
        response.planned_private = req.prior_private;
        response.diagnostics = wire::diagnostics(&diags);
        response
    }

    async fn apply_resource_change(
        &self,
        req: proto::ApplyResourceChangeRequest,
    ) -> proto::ApplyResourceChangeResponse {
        let mut diags = Diagnostics::default();
        // On failure Terraform keeps whatever state comes back: the prior one (null on create).
        let mut new_state = req.prior_state.clone();
        if let Some(r) = self.resource(&req.type_name, &mut diags) {
            let values = (
                decode(req.prior_state.as_ref(), &r.ty, "prior state", &mut diags),
                decode(
                    req.planned_state.as_ref(),
                    &r.ty,
                    "planned state",
                    &mut diags,
                ),
                decode(req.config.as_ref(), &r.ty, "configuration", &mut diags),
            );
            if let (Some(prior), Some(planned), Some(config)) = values {
                let imp = r.imp.clone();
                let applied = guarded(
                    format!("apply of {}", req.type_name),
                    &mut diags,
                    async move {
                        let mut d = Diagnostics::default();
                        let request = ApplyRequest {
                            prior: (!prior.is_null()).then_some(&prior),
                            planned: &planned,
                            config: &config,
                        };
                        let out = imp.apply(request, &mut d).await;
                        (out, d)
                    },
                )
                .await;
                if let Some(applied) = applied {
                    if let Some(encoded) = encode(&applied, &r.ty, "new state", &mut diags) {
                        new_state = Some(encoded);
                    }
                }
            }
        }
        proto::ApplyResourceChangeResponse {
            new_state,
            private: req.planned_private,
            diagnostics: wire::diagnostics(&diags),
        }
    }

    async fn import_resource_state(
        &self,
        req: proto::ImportResourceStateRequest,
    ) -> proto::ImportResourceStateResponse {
        let mut diags = Diagnostics::default();
        let mut imported_resources = Vec::new();
        if let Some(r) = self.resource(&req.type_name, &mut diags) {
            let imp = r.imp.clone();
            let id = req.id.clone();
            let state = guarded(
                format!("import of {}", req.type_name),
                &mut diags,
                async move {
                    let mut d = Diagnostics::default();
                    let out = imp.import(&id, &mut d).await;
                    (out, d)
                },
            )
            .await;
            if let Some(state) = state {
                if let Some(encoded) = encode(&state, &r.ty, "imported state", &mut diags) {
                    imported_resources.push(proto::ImportedResource {
                        type_name: req.type_name.clone(),
                        state: Some(encoded),
                        private: Vec::new(),
                    });
                }
            }
        }
        proto::ImportResourceStateResponse {
            imported_resources,
            diagnostics: wire::diagnostics(&diags),
        }
    }

    fn move_resource_state(
        &self,
        req: proto::MoveResourceStateRequest,
    ) -> proto::MoveResourceStateResponse {
        let mut diags = Diagnostics::default();
        diags.error(
            "Moving resources across types is not supported",
            format!(
                "This provider cannot move {} state into {}; remove the `moved` block and \
                 import the resource instead.",
                req.source_type_name, req.target_type_name
            ),
        );
        proto::MoveResourceStateResponse {
            target_state: None,
            diagnostics: wire::diagnostics(&diags),
        }
    }

    async fn read_data_source(
        &self,
        req: proto::ReadDataSourceRequest,
    ) -> proto::ReadDataSourceResponse {
        let mut diags = Diagnostics::default();
        let mut state = None;
        if let Some(d) = self.data_source(&req.type_name, &mut diags) {
            if let Some(config) = decode(req.config.as_ref(), &d.ty, "configuration", &mut diags) {
                let imp = d.imp.clone();
                let read = guarded(
                    format!("read of {}", req.type_name),
                    &mut diags,
                    async move {
                        let mut d = Diagnostics::default();
                        let out = imp.read(&config, &mut d).await;
                        (out, d)
                    },
                )
                .await;
                if let Some(read) = read {
                    state = encode(&read, &d.ty, "data source state", &mut diags);
                }
            }
        }
        proto::ReadDataSourceResponse {
            state,
            diagnostics: wire::diagnostics(&diags),
        }
    }

    fn call_function(&self, req: proto::CallFunctionRequest) -> proto::CallFunctionResponse {
        proto::CallFunctionResponse {
            error: Some(proto::FunctionError {
                text: format!(
                    "This provider has no functions; {:?} cannot be called.",
                    req.name
                ),
            }),
        }
    }
}

/// Decode a value from Terraform; a malformed one becomes an error diagnostic.
fn decode(
    dv: Option<&proto::DynamicValue>,
    ty: &Type,
    what: &str,
    diags: &mut Diagnostics,
) -> Option<Value> {
    let Some(dv) = dv else {
        return Some(Value::Null);
    };
    let decoded = if !dv.msgpack.is_empty() {
        from_msgpack(&dv.msgpack, ty)
    } else if !dv.json.is_empty() {
        match serde_json::from_slice(&dv.json) {
            Ok(json) => from_json(&json, ty),
            Err(e) => {
                diags.error(format!("Invalid {what} from Terraform"), e.to_string());
                return None;
            }
        }
    } else {
        Ok(Value::Null)
    };
    match decoded {
        Ok(v) => Some(v),
        Err(e) => {
            diags.error(format!("Invalid {what} from Terraform"), e.to_string());
            None
        }
    }
}

/// Encode a value for Terraform; a value that does not fit the schema is an error diagnostic.
fn encode(
    value: &Value,
    ty: &Type,
    what: &str,
    diags: &mut Diagnostics,
) -> Option<proto::DynamicValue> {
    match to_msgpack(value, ty) {
        Ok(msgpack) => Some(proto::DynamicValue {
            msgpack,
            json: Vec::new(),
        }),
        Err(e) => {
            diags.error(
                format!("The provider produced an invalid {what}"),
                format!("{e}. This is a bug in the provider."),
            );
            None
        }
    }
}

/// Run provider code in its own task: its diagnostics are added to `diags`; a panic becomes
/// an error diagnostic; `None` without an error gets one saying so.
async fn guarded<T, F>(what: String, diags: &mut Diagnostics, fut: F) -> Option<T>
where
    T: Send + 'static,
    F: Future<Output = (Option<T>, Diagnostics)> + Send + 'static,
{
    match tokio::spawn(fut).await {
        Ok((out, d)) => {
            diags.0.extend(d.0);
            if out.is_none() && !diags.has_errors() {
                diags.error(
                    format!("The provider's {what} failed without an error"),
                    "This is a bug in the provider.",
                );
            }
            out
        }
        Err(e) => {
            let message = if e.is_panic() {
                panic_message(e.into_panic())
            } else {
                "the task was cancelled".into()
            };
            tracing::error!(what = %what, panic = %message, "provider code panicked");
            diags.error(
                format!("The provider crashed during {what}"),
                format!(
                    "{message}\n\nThis is a bug in the provider; the provider is still running."
                ),
            );
            None
        }
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic without a message".into()
    }
}

// ---------------------------------------------------------------------------------------------
// gRPC routing

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The gRPC service: every path of every service go-plugin and Terraform call.
#[derive(Clone)]
pub(crate) struct Routes(pub(crate) Arc<Server>);

impl tower_service::Service<http::Request<Body>> for Routes {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        let server = self.0.clone();
        Box::pin(async move { Ok(route(server, req).await) })
    }
}

async fn route(s: Arc<Server>, req: http::Request<Body>) -> http::Response<Body> {
    let path = req.uri().path().to_owned();
    tracing::trace!(rpc = %path, "request");
    match path.as_str() {
        "/tfplugin6.Provider/GetMetadata" => {
            unary(req, move |_: proto::Empty| async move { s.get_metadata() }).await
        }
        "/tfplugin6.Provider/GetProviderSchema" => {
            unary(req, move |_: proto::Empty| async move {
                s.get_provider_schema()
            })
            .await
        }
        "/tfplugin6.Provider/ValidateProviderConfig" => {
            unary(req, move |r| async move { s.validate_provider_config(r) }).await
        }
        "/tfplugin6.Provider/ValidateResourceConfig" => {
            unary(
                req,
                move |r| async move { s.validate_resource_config(r).await },
            )
            .await
        }
        "/tfplugin6.Provider/ValidateDataResourceConfig" => {
            unary(req, move |r| async move {
                s.validate_data_resource_config(r).await
            })
            .await
        }
        "/tfplugin6.Provider/UpgradeResourceState" => {
            unary(
                req,
                move |r| async move { s.upgrade_resource_state(r).await },
            )
            .await
        }
        "/tfplugin6.Provider/ConfigureProvider" => {
            unary(req, move |r| async move { s.configure_provider(r).await }).await
        }
        "/tfplugin6.Provider/ReadResource" => {
            unary(req, move |r| async move { s.read_resource(r).await }).await
        }
        "/tfplugin6.Provider/PlanResourceChange" => {
            unary(req, move |r| async move { s.plan_resource_change(r).await }).await
        }
        "/tfplugin6.Provider/ApplyResourceChange" => {
            unary(
                req,
                move |r| async move { s.apply_resource_change(r).await },
            )
            .await
        }
        "/tfplugin6.Provider/ImportResourceState" => {
            unary(
                req,
                move |r| async move { s.import_resource_state(r).await },
            )
            .await
        }
        "/tfplugin6.Provider/MoveResourceState" => {
            unary(req, move |r| async move { s.move_resource_state(r) }).await
        }
        "/tfplugin6.Provider/ReadDataSource" => {
            unary(req, move |r| async move { s.read_data_source(r).await }).await
        }
        "/tfplugin6.Provider/GetFunctions" => {
            unary(req, |_: proto::Empty| async {
                proto::GetFunctionsResponse::default()
            })
            .await
        }
        "/tfplugin6.Provider/CallFunction" => {
            unary(req, move |r| async move { s.call_function(r) }).await
        }
        "/tfplugin6.Provider/StopProvider" => {
            unary(req, |_: proto::Empty| async {
                tracing::info!("Terraform asked the provider to stop");
                crate::stop::request_stop();
                proto::StopProviderResponse::default()
            })
            .await
        }
        "/plugin.GRPCController/Shutdown" => {
            unary(req, move |_: proto::Empty| async move {
                tracing::debug!("shutdown requested");
                s.shutdown.cancel();
                proto::Empty {}
            })
            .await
        }
        "/grpc.health.v1.Health/Check" => {
            unary(req, |r: proto::HealthCheckRequest| async move {
                proto::HealthCheckResponse {
                    status: if r.service.is_empty() || r.service == "plugin" {
                        proto::HEALTH_SERVING
                    } else {
                        proto::HEALTH_SERVICE_UNKNOWN
                    },
                }
            })
            .await
        }
        "/plugin.GRPCStdio/StreamStdio" => {
            // Our output goes to the real stdout/stderr, which go-plugin reads; the stream
            // stays open and empty until shutdown.
            let mut grpc = grpc_codec::<proto::StdioData, proto::Empty>();
            grpc.server_streaming(QuietStream(s.shutdown.clone()), req)
                .await
        }
        "/plugin.GRPCBroker/StartStream" => {
            // No sub-plugins are brokered: read and drop what comes in.
            let mut grpc = grpc_codec::<proto::ConnInfo, proto::ConnInfo>();
            grpc.streaming(QuietStream(s.shutdown.clone()), req).await
        }
        _ => {
            tracing::debug!(rpc = %path, "unimplemented RPC");
            unimplemented_response()
        }
    }
}

fn grpc_codec<Out, In>() -> tonic::server::Grpc<ProstCodec<Out, In>>
where
    Out: prost::Message + Send + 'static,
    In: prost::Message + Default + Send + 'static,
{
    tonic::server::Grpc::new(ProstCodec::default())
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE)
}

async fn unary<In, Out, F, Fut>(req: http::Request<Body>, handler: F) -> http::Response<Body>
where
    In: prost::Message + Default + Send + 'static,
    Out: prost::Message + Send + 'static,
    F: FnOnce(In) -> Fut + Send + 'static,
    Fut: Future<Output = Out> + Send + 'static,
{
    grpc_codec::<Out, In>()
        .unary(Once(Some(handler)), req)
        .await
}

/// A unary handler, called once per request.
struct Once<F>(Option<F>);

impl<In, Out, F, Fut> tower_service::Service<tonic::Request<In>> for Once<F>
where
    F: FnOnce(In) -> Fut,
    Fut: Future<Output = Out> + Send + 'static,
{
    type Response = tonic::Response<Out>;
    type Error = Status;
    type Future = BoxFuture<Result<tonic::Response<Out>, Status>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Status>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: tonic::Request<In>) -> Self::Future {
        match self.0.take() {
            Some(handler) => {
                let fut = handler(req.into_inner());
                Box::pin(async move { Ok(tonic::Response::new(fut.await)) })
            }
            None => Box::pin(async { Err(Status::internal("handler called twice")) }),
        }
    }
}

/// A response stream that sends nothing and ends at shutdown (or when the client's request
/// stream ends, for bidirectional calls).
struct QuietStream(CancellationToken);

impl QuietStream {
    fn open<Out: Send + 'static>(
        &self,
        incoming: Option<Streaming<proto::ConnInfo>>,
    ) -> ReceiverStream<Result<Out, Status>> {
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        let shutdown = self.0.clone();
        tokio::spawn(async move {
            match incoming {
                Some(mut incoming) => loop {
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        msg = incoming.message() => if !matches!(msg, Ok(Some(_))) { break },
                    }
                },
                None => shutdown.cancelled().await,
            }
            drop(tx);
        });
        ReceiverStream::new(rx)
    }
}

impl tower_service::Service<tonic::Request<proto::Empty>> for QuietStream {
    type Response = tonic::Response<ReceiverStream<Result<proto::StdioData, Status>>>;
    type Error = Status;
    type Future = BoxFuture<Result<Self::Response, Status>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Status>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _req: tonic::Request<proto::Empty>) -> Self::Future {
        let stream = self.open(None);
        Box::pin(async move { Ok(tonic::Response::new(stream)) })
    }
}

impl tower_service::Service<tonic::Request<Streaming<proto::ConnInfo>>> for QuietStream {
    type Response = tonic::Response<ReceiverStream<Result<proto::ConnInfo, Status>>>;
    type Error = Status;
    type Future = BoxFuture<Result<Self::Response, Status>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Status>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: tonic::Request<Streaming<proto::ConnInfo>>) -> Self::Future {
        let stream = self.open(Some(req.into_inner()));
        Box::pin(async move { Ok(tonic::Response::new(stream)) })
    }
}

fn unimplemented_response() -> http::Response<Body> {
    let mut response = http::Response::new(Body::default());
    let headers = response.headers_mut();
    headers.insert(
        "grpc-status",
        http::HeaderValue::from(Status::unimplemented("").code() as i32),
    );
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/grpc"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::AttributePath;
    use crate::resource::{PlanResponse, Resource};
    use crate::schema::{Attribute, Block};
    use async_trait::async_trait;

    /// A resource whose behaviour depends on `name`: "panic" panics, "fail" fails.
    struct Probe;

    fn probe_schema() -> Schema {
        Schema {
            version: 2,
            block: Block::new("probe")
                .attribute(Attribute::string("name").required())
                .attribute(Attribute::string("out").computed()),
        }
    }

    #[async_trait]
    impl Resource for Probe {
        fn type_name(&self) -> &'static str {
            "test_probe"
        }
        fn schema(&self) -> Schema {
            probe_schema()
        }
        async fn validate(&self, config: &Value, diags: &mut Diagnostics) {
            if config.get("name").as_str() == Some("panic") {
                panic!("validation exploded");
            }
            if !config.get("name").is_known() {
                diags.warning_at(AttributePath::new("name"), "unknown seen", "");
            }
        }
        async fn plan(
            &self,
            request: PlanRequest<'_>,
            _diags: &mut Diagnostics,
        ) -> Option<PlanResponse> {
            let mut planned = request.proposed.clone();
            if !planned.is_null() {
                let out = match planned.get("name") {
                    Value::String(s) => Value::from(format!("<{s}>")),
                    _ => Value::Unknown,
                };
                planned.set("out", out);
            }
            Some(PlanResponse {
                planned,
                requires_replace: vec![AttributePath::new("name")],
            })
        }
        async fn apply(&self, request: ApplyRequest<'_>, diags: &mut Diagnostics) -> Option<Value> {
            if request.planned.get("name").as_str() == Some("fail") {
                diags.error("apply failed", "as asked");
                return None;
            }
            if request.planned.get("name").as_str() == Some("wrong") {
                return Some(Value::object([("nope", Value::Bool(true))]));
            }
            Some(request.planned.clone())
        }
        async fn upgrade(
            &self,
            version: i64,
            prior: &serde_json::Value,
            _diags: &mut Diagnostics,
        ) -> Option<Value> {
            Some(Value::object([
                ("name", Value::from(prior["old_name"].as_str())),
                ("out", Value::from(format!("from v{version}"))),
            ]))
        }
    }

    struct TestProvider;

    #[async_trait]
    impl Provider for TestProvider {
        fn schema(&self) -> Schema {
            Schema {
                version: 0,
                block: Block::new("test"),
            }
        }
        fn resources(&self) -> Vec<Arc<dyn Resource>> {
            vec![Arc::new(Probe)]
        }
    }

    fn server() -> Server {
        Server::new(Arc::new(TestProvider), CancellationToken::new())
    }

    fn dv(v: &Value) -> Option<proto::DynamicValue> {
        let ty = block_type(&probe_schema().block);
        Some(proto::DynamicValue {
            msgpack: to_msgpack(v, &ty).expect("encodes"),
            json: Vec::new(),
        })
    }

    fn value(dv: &Option<proto::DynamicValue>) -> Value {
        let ty = block_type(&probe_schema().block);
        from_msgpack(&dv.as_ref().expect("a value").msgpack, &ty).expect("decodes")
    }

    fn named(name: Value) -> Value {
        Value::object([("name", name), ("out", Value::Null)])
    }

    #[tokio::test]
    async fn a_panic_becomes_an_error_diagnostic_and_the_server_goes_on() {
        let s = server();
        let req = |name: &str| proto::ValidateConfigRequest {
            type_name: "test_probe".into(),
            config: dv(&named(Value::from(name))),
        };
        let resp = s.validate_resource_config(req("panic")).await;
        assert_eq!(resp.diagnostics.len(), 1);
        assert_eq!(resp.diagnostics[0].severity, proto::severity::ERROR);
        assert!(resp.diagnostics[0].detail.contains("validation exploded"));
        assert!(s
            .validate_resource_config(req("fine"))
            .await
            .diagnostics
            .is_empty());
    }

    #[tokio::test]
    async fn unknowns_reach_the_resource_and_come_back_unknown() {
        let s = server();
        let resp = s
            .validate_resource_config(proto::ValidateConfigRequest {
                type_name: "test_probe".into(),
                config: dv(&named(Value::Unknown)),
            })
            .await;
        assert_eq!(resp.diagnostics[0].summary, "unknown seen");
        let plan = s
            .plan_resource_change(proto::PlanResourceChangeRequest {
                type_name: "test_probe".into(),
                prior_state: dv(&Value::Null),
                proposed_new_state: dv(&named(Value::Unknown)),
                config: dv(&named(Value::Unknown)),
                prior_private: b"private bytes".to_vec(),
            })
            .await;
        assert!(plan.diagnostics.is_empty(), "{:?}", plan.diagnostics);
        assert_eq!(value(&plan.planned_state).get("out"), &Value::Unknown);
        assert_eq!(plan.planned_private, b"private bytes");
        assert_eq!(
            plan.requires_replace,
            vec![wire::path(&AttributePath::new("name"))]
        );
    }

    #[tokio::test]
    async fn a_failed_apply_keeps_the_prior_state_and_a_bad_state_is_reported() {
        let s = server();
        let prior = Value::object([("name", Value::from("ok")), ("out", Value::from("<ok>"))]);
        let apply = |name: &str| proto::ApplyResourceChangeRequest {
            type_name: "test_probe".into(),
            prior_state: dv(&prior),
            planned_state: dv(&named(Value::from(name))),
            config: dv(&named(Value::from(name))),
            planned_private: Vec::new(),
        };
        let failed = s.apply_resource_change(apply("fail")).await;
        assert_eq!(failed.diagnostics[0].summary, "apply failed");
        assert_eq!(value(&failed.new_state), prior);

        let wrong = s.apply_resource_change(apply("wrong")).await;
        assert!(wrong.diagnostics[0]
            .detail
            .contains("\"nope\" is not in the schema"));
        assert_eq!(value(&wrong.new_state), prior);

        let ok = s.apply_resource_change(apply("new")).await;
        assert!(ok.diagnostics.is_empty());
        assert_eq!(value(&ok.new_state).get("name"), &Value::from("new"));
    }

    #[tokio::test]
    async fn state_upgrade_calls_the_resource_only_for_other_versions() {
        let s = server();
        let upgrade = |version: i64, json: &str| proto::UpgradeResourceStateRequest {
            type_name: "test_probe".into(),
            version,
            raw_state: Some(proto::RawState {
                json: json.as_bytes().to_vec(),
                flatmap: HashMap::new(),
            }),
        };
        let old = s
            .upgrade_resource_state(upgrade(1, r#"{"old_name":"a"}"#))
            .await;
        assert!(old.diagnostics.is_empty());
        assert_eq!(
            value(&old.upgraded_state),
            Value::object([("name", Value::from("a")), ("out", Value::from("from v1"))])
        );
        // Same version: decoded as is; attributes no longer in the schema are dropped.
        let same = s
            .upgrade_resource_state(upgrade(2, r#"{"name":"b","out":"x","gone":1}"#))
            .await;
        assert!(same.diagnostics.is_empty());
        assert_eq!(
            value(&same.upgraded_state),
            Value::object([("name", Value::from("b")), ("out", Value::from("x"))])
        );
        let broken = s.upgrade_resource_state(upgrade(2, "{not json")).await;
        assert_eq!(broken.diagnostics[0].severity, proto::severity::ERROR);
    }

    #[tokio::test]
    async fn unknown_types_and_unsupported_calls_are_diagnostics() {
        let s = server();
        let resp = s
            .read_resource(proto::ReadResourceRequest {
                type_name: "test_nope".into(),
                current_state: None,
                private: b"p".to_vec(),
            })
            .await;
        assert!(resp.diagnostics[0].summary.contains("test_nope"));
        assert_eq!(resp.private, b"p");
        let moved = s.move_resource_state(proto::MoveResourceStateRequest::default());
        assert_eq!(moved.diagnostics[0].severity, proto::severity::ERROR);
        let import = s
            .import_resource_state(proto::ImportResourceStateRequest {
                type_name: "test_probe".into(),
                id: "x".into(),
            })
            .await;
        assert!(import.imported_resources.is_empty());
        assert!(import.diagnostics[0].summary.contains("cannot be imported"));
        let meta = s.get_metadata();
        assert_eq!(meta.resources[0].type_name, "test_probe");
        let caps = meta.server_capabilities.expect("capabilities");
        assert!(caps.plan_destroy && caps.get_provider_schema_optional);
        let schema = s.get_provider_schema();
        assert_eq!(schema.resource_schemas["test_probe"].version, 2);
    }
}
