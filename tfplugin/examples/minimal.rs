//! The smallest provider `tfplugin` can serve: one resource, `minimal_echo`, whose computed
//! `out` repeats its `in`. Used to measure what the server itself costs in binary size.
//!
//! ```text
//! cargo build --release -p tfplugin --example minimal
//! ```

use std::sync::Arc;

use async_trait::async_trait;
use tfplugin::{ApplyRequest, Attribute, Block, Diagnostics, Provider, Resource, Schema, Value};

struct Echo;

fn echoed(mut v: Value) -> Value {
    let out = v.get("in").clone();
    v.set("out", out);
    v
}

#[async_trait]
impl Resource for Echo {
    fn type_name(&self) -> &'static str {
        "minimal_echo"
    }

    fn schema(&self) -> Schema {
        Schema {
            version: 0,
            block: Block::new("Repeats `in` as `out`.")
                .attribute(Attribute::string("in").required())
                .attribute(Attribute::string("out").computed()),
        }
    }

    async fn plan(
        &self,
        request: tfplugin::PlanRequest<'_>,
        _diags: &mut Diagnostics,
    ) -> Option<tfplugin::PlanResponse> {
        Some(tfplugin::PlanResponse {
            planned: if request.proposed.is_null() {
                Value::Null
            } else {
                echoed(request.proposed.clone())
            },
            requires_replace: Vec::new(),
        })
    }

    async fn apply(&self, request: ApplyRequest<'_>, _diags: &mut Diagnostics) -> Option<Value> {
        Some(if request.planned.is_null() {
            Value::Null
        } else {
            echoed(request.planned.clone())
        })
    }
}

struct Minimal;

#[async_trait]
impl Provider for Minimal {
    fn schema(&self) -> Schema {
        Schema {
            version: 0,
            block: Block::new("A minimal provider."),
        }
    }

    fn resources(&self) -> Vec<Arc<dyn Resource>> {
        vec![Arc::new(Echo)]
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tfplugin::logging::init("minimal", &["minimal"]);
    match tfplugin::serve(Minimal).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            std::process::ExitCode::from(1)
        }
    }
}
