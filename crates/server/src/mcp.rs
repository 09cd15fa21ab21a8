//! `/mcp`: the API as Model Context Protocol tools, so assistants and agents can send bots to
//! meetings, follow them and read what happened (Streamable HTTP, the official `rmcp` SDK).
//!
//! Every tool is one call of the public REST API, made in-process through the same router
//! and handlers: validation, limits, account scoping and error codes are the API's own, never
//! a second implementation. The caller authenticates with an API key exactly as on the API
//! (`Authorization: Bearer` or `X-Api-Key`; no dashboard cookies); [`require_api_key`] checks
//! it once and hands the [`Caller`] to the tool calls in the request's extensions.
//!
//! Stateless: no MCP session lives in this process (the SDK's stateless mode, JSON
//! responses), so any replica answers any request.

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::ServerHandler;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, JsonObject, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool, ToolAnnotations,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::{Value, json};
use std::sync::Arc;
use tower::ServiceExt;

/// Largest tool answer passed on (a transcript page or an event page is far smaller).
const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;

/// The MCP endpoint as a tower service, to be nested at `/mcp` behind [`require_api_key`].
/// `api` is the public API router the tools call.
pub fn service(state: &AppState, api: axum::Router) -> StreamableHttpService<MeeboterMcp, NeverSessionManager> {
    let handler = MeeboterMcp { api };
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(allowed_hosts(&state.config.public_url, state.config.listen))
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None);
    StreamableHttpService::new(
        move || Ok(handler.clone()),
        Arc::new(NeverSessionManager::default()),
        config,
    )
}

/// `Host` values the endpoint answers (the SDK refuses others, against DNS rebinding):
/// `PUBLIC_URL`'s host, the listen address, and loopback names.
fn allowed_hosts(public_url: &str, listen: std::net::SocketAddr) -> Vec<String> {
    let mut hosts = vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()];
    if let Ok(url) = url::Url::parse(public_url)
        && let Some(host) = url.host_str()
    {
        hosts.push(host.trim_start_matches('[').trim_end_matches(']').to_string());
    }
    if !listen.ip().is_unspecified() {
        hosts.push(listen.ip().to_string());
    }
    hosts.sort();
    hosts.dedup();
    hosts
}

/// Authenticates `/mcp` with an API key (never the dashboard's cookie) and leaves the
/// [`Caller`] in the request's extensions for the tools.
pub async fn require_api_key(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let key_sent = parts.headers.contains_key(header::AUTHORIZATION) || parts.headers.contains_key("x-api-key");
    if !key_sent {
        let mut response = ApiError::unauthorized(
            "the MCP endpoint needs an API key: send `Authorization: Bearer <key>` or `X-Api-Key: <key>`",
        )
        .into_response();
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        return response;
    }
    match Caller::from_request_parts(&mut parts, &state).await {
        Ok(caller) => {
            parts.extensions.insert(caller);
            next.run(Request::from_parts(parts, body)).await
        }
        Err(e) => e.into_response(),
    }
}

/// The MCP server: the tool list and the mapping of each tool to its API call.
#[derive(Clone)]
pub struct MeeboterMcp {
    api: axum::Router,
}

/// One tool: its name, what it does, its arguments, and how it maps to the API.
struct ToolSpec {
    name: &'static str,
    description: &'static str,
    schema: fn() -> Value,
    read_only: bool,
    destructive: bool,
}

fn bot_id_schema() -> Value {
    json!({"type": "string", "description": "The bot's id (from create_bot or list_bots)."})
}

const TOOLS: &[ToolSpec] = &[
    ToolSpec {
        name: "create_bot",
        description: "Send a bot to a Google Meet, Microsoft Teams or Zoom meeting. It joins as a participant \
                      (waiting in the lobby if there is one), records, and leaves when the meeting ends. \
                      Returns the bot; follow it with get_bot.",
        schema: || {
            json!({
                "type": "object",
                "properties": {
                    "meetingUrl": {"type": "string", "description": "The meeting link."},
                    "botName": {"type": "string", "description": "Name shown to participants."},
                    "recordingMode": {"type": "string", "enum": ["video", "audio", "none"]},
                    "joinAt": {"type": "string", "format": "date-time",
                               "description": "Join later, at this RFC 3339 time (default: now)."},
                    "transcription": {"type": "object",
                                      "description": "{provider: meeting_captions|openai|deepgram, language, realtime}"},
                    "metadata": {"type": "object", "description": "Your own key/value data, returned with the bot."}
                },
                "required": ["meetingUrl"],
                "additionalProperties": true
            })
        },
        read_only: false,
        destructive: false,
    },
    ToolSpec {
        name: "list_bots",
        description: "List bots, newest first, with their status. Filter by status (comma-separated, e.g. \
                      IN_CALL,QUEUED), platform, or a search of name and meeting link; page with cursor.",
        schema: || {
            json!({
                "type": "object",
                "properties": {
                    "status": {"type": "string"},
                    "platform": {"type": "string", "enum": ["google_meet", "microsoft_teams", "zoom"]},
                    "search": {"type": "string"},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 100},
                    "cursor": {"type": "string"}
                }
            })
        },
        read_only: true,
        destructive: false,
    },
    ToolSpec {
        name: "get_bot",
        description: "One bot: status, status history with reasons, meeting, times and recording state.",
        schema: || json!({"type": "object", "properties": {"botId": bot_id_schema()}, "required": ["botId"]}),
        read_only: true,
        destructive: false,
    },
    ToolSpec {
        name: "leave_meeting",
        description: "Make a bot leave its meeting (a bot not yet deployed is cancelled).",
        schema: || json!({"type": "object", "properties": {"botId": bot_id_schema()}, "required": ["botId"]}),
        read_only: false,
        destructive: true,
    },
    ToolSpec {
        name: "send_chat",
        description: "Post a chat message in the bot's meeting, as the bot.",
        schema: || {
            json!({
                "type": "object",
                "properties": {"botId": bot_id_schema(), "message": {"type": "string", "minLength": 1}},
                "required": ["botId", "message"]
            })
        },
        read_only: false,
        destructive: false,
    },
    ToolSpec {
        name: "get_events",
        description: "What happened to a bot, oldest first: status changes, chat, participants joining and \
                      leaving, transcript lines. Filter by type (comma-separated); page with cursor.",
        schema: || {
            json!({
                "type": "object",
                "properties": {
                    "botId": bot_id_schema(),
                    "type": {"type": "string"},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 1000},
                    "cursor": {"type": "string"}
                },
                "required": ["botId"]
            })
        },
        read_only: true,
        destructive: false,
    },
    ToolSpec {
        name: "get_participants",
        description: "The people the bot saw in its meeting, with when they joined and left.",
        schema: || json!({"type": "object", "properties": {"botId": bot_id_schema()}, "required": ["botId"]}),
        read_only: true,
        destructive: false,
    },
    ToolSpec {
        name: "get_transcript",
        description: "The bot's transcript: who said what and when. State none|live|processing|ready|failed; \
                      format json (utterances, paged with cursor) or txt, srt, vtt (the whole text).",
        schema: || {
            json!({
                "type": "object",
                "properties": {
                    "botId": bot_id_schema(),
                    "format": {"type": "string", "enum": ["json", "txt", "srt", "vtt"]},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 1000},
                    "cursor": {"type": "string"}
                },
                "required": ["botId"]
            })
        },
        read_only: true,
        destructive: false,
    },
];

/// A tool call turned into an API request: method, path with query, JSON body.
#[derive(Debug, PartialEq)]
struct ApiCall {
    method: Method,
    path: String,
    body: Option<Value>,
}

/// Maps a tool and its arguments to the API call it stands for; a missing or malformed
/// argument is the caller's error, named.
fn api_call(tool: &str, args: &JsonObject) -> Result<ApiCall, String> {
    let text = |name: &str| -> Result<Option<String>, String> {
        match args.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(format!("`{name}` must be a string")),
        }
    };
    let bot = || -> Result<String, String> {
        let id = text("botId")?.ok_or("`botId` is required")?;
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err("`botId` is not a bot id".into());
        }
        Ok(id)
    };
    let query = |names: &[&str]| -> Result<String, String> {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        let mut any = false;
        for name in names {
            if let Some(v) = text(name)? {
                q.append_pair(name, &v);
                any = true;
            }
        }
        Ok(if any { format!("?{}", q.finish()) } else { String::new() })
    };
    let call = |method: Method, path: String, body: Option<Value>| Ok(ApiCall { method, path, body });
    match tool {
        "create_bot" => call(Method::POST, "/api/bots".into(), Some(Value::Object(args.clone()))),
        "list_bots" => call(
            Method::GET,
            format!(
                "/api/bots{}",
                query(&["status", "platform", "search", "limit", "cursor"])?
            ),
            None,
        ),
        "get_bot" => call(Method::GET, format!("/api/bots/{}", bot()?), None),
        "leave_meeting" => call(Method::POST, format!("/api/bots/{}/leave", bot()?), None),
        "send_chat" => {
            let message = text("message")?.ok_or("`message` is required")?;
            call(
                Method::POST,
                format!("/api/bots/{}/chat", bot()?),
                Some(json!({"message": message})),
            )
        }
        "get_events" => call(
            Method::GET,
            format!("/api/bots/{}/events{}", bot()?, query(&["type", "limit", "cursor"])?),
            None,
        ),
        "get_participants" => call(Method::GET, format!("/api/bots/{}/participants", bot()?), None),
        "get_transcript" => call(
            Method::GET,
            format!(
                "/api/bots/{}/transcript{}",
                bot()?,
                query(&["format", "limit", "cursor"])?
            ),
            None,
        ),
        other => Err(format!("unknown tool `{other}`")),
    }
}

impl MeeboterMcp {
    /// Runs `call` through the API router as `caller`.
    async fn run(&self, caller: Caller, call: ApiCall) -> CallToolResult {
        let mut request = axum::http::Request::builder().method(call.method).uri(&call.path);
        let body = match call.body {
            Some(v) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        let mut request = match request.body(body) {
            Ok(r) => r,
            Err(e) => return tool_error(json!({"error": {"code": "invalid_arguments", "message": e.to_string()}})),
        };
        request.extensions_mut().insert(caller);
        let response = match self.api.clone().oneshot(request).await {
            Ok(r) => r,
            Err(never) => match never {},
        };
        let status = response.status();
        let is_json = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        let bytes = match axum::body::to_bytes(response.into_body(), MAX_ANSWER_BYTES).await {
            Ok(b) => b,
            Err(_) => {
                return tool_error(json!({"error": {"code": "answer_too_large",
                    "message": "the answer is too large for one tool result; page with limit and cursor"}}));
            }
        };
        let value: Value = if bytes.is_empty() {
            json!({"status": status.as_u16()})
        } else if is_json {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        } else {
            Value::String(String::from_utf8_lossy(&bytes).into_owned())
        };
        if status.is_success() {
            let text = match &value {
                Value::String(s) => s.clone(),
                v => v.to_string(),
            };
            let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
            if value.is_object() {
                result.structured_content = Some(value);
            }
            result
        } else {
            tool_error(value)
        }
    }
}

/// A failed call as the tool's result (`isError`), with the API's error envelope, so the
/// model reads the reason and can correct itself.
fn tool_error(envelope: Value) -> CallToolResult {
    let text = serde_json::to_string_pretty(&envelope).unwrap_or_default();
    CallToolResult::error(vec![ContentBlock::text(text)])
}

impl ServerHandler for MeeboterMcp {
    fn get_info(&self) -> ServerConfig {
        let mut info = Implementation::new("meeboter", env!("CARGO_PKG_VERSION"));
        info.title = Some("Meeboter".into());
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(info)
            .with_instructions(
                "Meeboter sends bots to Google Meet, Microsoft Teams and Zoom meetings. create_bot with a meeting \
                 link; get_bot until status is IN_CALL (QUEUED, DEPLOYING, JOINING_CALL come first); send_chat, \
                 get_participants and get_transcript while it is there; leave_meeting to end it. Statuses: \
                 SCHEDULED QUEUED DEPLOYING JOINING_CALL IN_WAITING_ROOM IN_CALL LEAVING ENDED FATAL.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, rmcp::ErrorData> {
        let tools = TOOLS
            .iter()
            .map(|spec| {
                let schema = match (spec.schema)() {
                    Value::Object(map) => map,
                    _ => JsonObject::new(),
                };
                let mut tool = Tool::new(spec.name, spec.description, schema);
                tool.annotations = Some(
                    ToolAnnotations::new()
                        .read_only(spec.read_only)
                        .destructive(spec.destructive)
                        .open_world(true),
                );
                tool
            })
            .collect();
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, rmcp::ErrorData> {
        let caller = context
            .extensions
            .get::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Caller>())
            .cloned()
            .ok_or_else(|| rmcp::ErrorData::internal_error("the request was not authenticated", None))?;
        let args = request.arguments.unwrap_or_default();
        let call = match api_call(&request.name, &args) {
            Ok(call) => call,
            Err(message) if message.starts_with("unknown tool") => {
                return Err(rmcp::ErrorData::invalid_params(message, None));
            }
            Err(message) => {
                return Ok(
                    tool_error(json!({"error": {"code": "invalid_arguments", "message": message,
                    "details": null}}))
                    .into(),
                );
            }
        };
        tracing::debug!(tool = %request.name, path = %call.path, "mcp tool call");
        Ok(self.run(caller, call).await.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: Value) -> JsonObject {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn tools_map_to_the_api_calls_they_stand_for() {
        let c = api_call("get_bot", &args(json!({"botId": "0193-ab"}))).unwrap();
        assert_eq!((c.method, c.path.as_str()), (Method::GET, "/api/bots/0193-ab"));
        let c = api_call("list_bots", &args(json!({"status": "IN_CALL,QUEUED", "limit": 5}))).unwrap();
        assert_eq!(c.path, "/api/bots?status=IN_CALL%2CQUEUED&limit=5");
        let c = api_call("send_chat", &args(json!({"botId": "b1", "message": "hi"}))).unwrap();
        assert_eq!(c.body, Some(json!({"message": "hi"})));
        let c = api_call("get_transcript", &args(json!({"botId": "b1", "format": "vtt"}))).unwrap();
        assert_eq!(c.path, "/api/bots/b1/transcript?format=vtt");
        assert_eq!(
            api_call("leave_meeting", &args(json!({"botId": "b1"}))).unwrap().method,
            Method::POST
        );
    }

    #[test]
    fn bad_arguments_are_named() {
        assert_eq!(
            api_call("get_bot", &JsonObject::new()).unwrap_err(),
            "`botId` is required"
        );
        assert!(api_call("get_bot", &args(json!({"botId": "../keys"}))).is_err());
        assert!(
            api_call("send_chat", &args(json!({"botId": "b1"})))
                .unwrap_err()
                .contains("message")
        );
        assert!(
            api_call("nope", &JsonObject::new())
                .unwrap_err()
                .starts_with("unknown tool")
        );
    }

    #[test]
    fn every_tool_has_an_object_schema_and_a_mapping() {
        for spec in TOOLS {
            assert_eq!((spec.schema)()["type"], "object", "{}", spec.name);
            let mut sample = JsonObject::new();
            sample.insert("botId".into(), json!("b1"));
            sample.insert("message".into(), json!("m"));
            sample.insert("meetingUrl".into(), json!("https://meet.google.com/abc-defg-hij"));
            assert!(api_call(spec.name, &sample).is_ok(), "{}", spec.name);
        }
    }

    #[test]
    fn allowed_hosts_cover_the_public_url_and_loopback() {
        let hosts = allowed_hosts("https://bots.example.com", "0.0.0.0:3000".parse().unwrap());
        assert!(hosts.contains(&"bots.example.com".to_string()));
        assert!(hosts.contains(&"127.0.0.1".to_string()));
        assert!(!hosts.contains(&"0.0.0.0".to_string()));
    }
}
