//! Completes the OpenAPI documents that utoipa derives from the handlers.
//!
//! The statuses a request can get from the shared machinery — authentication, the JSON
//! and query extractors, the rate limiter, the database being away — are the same on every
//! route that uses that machinery, so they are documented here once, from what each
//! operation declares (security, body, parameters), instead of by hand on ~40 handlers
//! where one forgotten line makes the document lie. Every error response gets the one
//! error envelope, and every response a description.

use serde_json::{Map, Value, json};

/// The reference every error response points at.
const ERROR_SCHEMA: &str = "#/components/schemas/ErrorBody";

/// Why a shared status happens, in the words the reference shows.
fn shared_description(status: &str) -> &'static str {
    match status {
        "400" => "malformed JSON, an unreadable body, or a malformed header (`error.code` says which)",
        "401" => "missing, invalid, revoked or expired credentials",
        "403" => "not allowed for this key, or the dashboard session's CSRF token is missing",
        "404" => "no such resource, or it belongs to another account",
        "409" => "conflicts with the resource's current state",
        "413" => "the request body is too large",
        "415" => "the body is not in a content type this operation takes",
        "416" => "the requested range is outside the object",
        "422" => "validation failed; `error.details.fields` names every problem",
        "429" => "too many requests for this API key; honour `Retry-After`",
        "503" => "the database or storage is unavailable; retry later",
        _ => "error",
    }
}

/// Description for a success response that its handler left without one.
fn success_description(status: &str) -> &'static str {
    match status {
        "200" => "OK",
        "201" => "created",
        "202" => "accepted",
        "204" => "done; no body",
        "206" => "part of the object",
        _ => "success",
    }
}

/// Where the bot channel lives; its operations get their own document.
pub const BOT_CHANNEL_PREFIX: &str = "/api/bot/";

/// The two documents the server serves.
#[derive(Debug, Clone)]
pub struct Documents {
    /// What users call: `/api/openapi.json`, shown at `/docs`.
    pub public: Value,
    /// The internal protocol bots speak with their own token: `/api/bot/openapi.json`.
    pub bot_channel: Value,
}

impl Documents {
    /// Completes the document utoipa derived (shared statuses, the error envelope, binary
    /// media bodies) and splits it in two, each with only the schemas it refers to.
    pub fn from_derived(doc: &utoipa::openapi::OpenApi) -> Documents {
        let mut whole = serde_json::to_value(doc).expect("an OpenAPI document serializes");
        complete_value(&mut whole);
        let (public, bot_channel) = split(whole);
        Documents { public, bot_channel }
    }
}

/// Moves the bot channel's paths (and its tag) into a document of their own; each half
/// keeps only the components it reaches.
fn split(mut public: Value) -> (Value, Value) {
    let mut bot = public.clone();
    let paths = public["paths"].as_object_mut().expect("paths");
    let bot_paths: Map<String, Value> = paths
        .iter()
        .filter(|(p, _)| p.starts_with(BOT_CHANNEL_PREFIX))
        .map(|(p, v)| (p.clone(), v.clone()))
        .collect();
    paths.retain(|p, _| !p.starts_with(BOT_CHANNEL_PREFIX));
    bot["paths"] = Value::Object(bot_paths);
    bot["info"]["title"] = json!("Meeboter bot channel");
    bot["info"]["description"] = json!(
        "The internal protocol between a running bot and its server, authenticated with the \
bot's own token (MILO_AUTH_TOKEN). v1 changes are additive only. Users never call it: the \
public API is described at /api/openapi.json. Every error has the shape \
{\"error\": {\"code\", \"message\", \"details\"}}."
    );
    for doc in [&mut public, &mut bot] {
        keep_used_tags(doc);
        prune_components(doc);
    }
    (public, bot)
}

fn keep_used_tags(doc: &mut Value) {
    let mut used = std::collections::BTreeSet::new();
    if let Some(paths) = doc["paths"].as_object() {
        for op in paths.values().filter_map(Value::as_object).flat_map(|m| m.values()) {
            for tag in op["tags"].as_array().into_iter().flatten() {
                if let Some(t) = tag.as_str() {
                    used.insert(t.to_string());
                }
            }
        }
    }
    if let Some(tags) = doc.get_mut("tags").and_then(Value::as_array_mut) {
        tags.retain(|t| t["name"].as_str().is_some_and(|n| used.contains(n)));
    }
}

/// Drops schemas and security schemes that nothing in the document's paths reaches.
fn prune_components(doc: &mut Value) {
    let schemas = doc["components"]["schemas"].as_object().cloned().unwrap_or_default();
    let mut reached = std::collections::BTreeSet::new();
    let mut todo = Vec::new();
    collect_refs(&doc["paths"], &mut todo);
    while let Some(name) = todo.pop() {
        if reached.insert(name.clone())
            && let Some(schema) = schemas.get(&name)
        {
            collect_refs(schema, &mut todo);
        }
    }
    if let Some(s) = doc["components"].get_mut("schemas").and_then(Value::as_object_mut) {
        s.retain(|name, _| reached.contains(name));
    }
    let mut schemes = std::collections::BTreeSet::new();
    if let Some(paths) = doc["paths"].as_object() {
        for op in paths.values().filter_map(Value::as_object).flat_map(|m| m.values()) {
            for requirement in op["security"].as_array().into_iter().flatten() {
                if let Some(r) = requirement.as_object() {
                    schemes.extend(r.keys().cloned());
                }
            }
        }
    }
    if let Some(s) = doc["components"]
        .get_mut("securitySchemes")
        .and_then(Value::as_object_mut)
    {
        s.retain(|name, _| schemes.contains(name));
    }
}

fn collect_refs(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(name) = map
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
            {
                into.push(name.to_string());
            }
            map.values().for_each(|v| collect_refs(v, into));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, into)),
        _ => {}
    }
}

fn complete_value(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        for (method, op) in item.iter_mut() {
            if let Some(op) = op.as_object_mut() {
                complete_operation(path, method, op);
            }
        }
    }
}

fn complete_operation(path: &str, method: &str, op: &mut Map<String, Value>) {
    let secured = op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| !s.is_empty());
    let bot_channel = path.starts_with("/api/bot/");
    let params: Vec<Value> = op
        .get("parameters")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let has_in = |place: &str| params.iter().any(|p| p["in"] == place);
    let body_types: Vec<String> = op
        .get("requestBody")
        .and_then(|b| b.get("content"))
        .and_then(Value::as_object)
        .map(|c| c.keys().cloned().collect())
        .unwrap_or_default();
    let json_body = body_types.iter().any(|t| t == "application/json");

    if let Some(list) = op.get_mut("parameters").and_then(Value::as_array_mut) {
        list.iter_mut().for_each(not_nullable);
    }

    let mut shared: Vec<&str> = Vec::new();
    if secured {
        shared.push("401");
        if !bot_channel {
            // User keys are rate limited; a dashboard session must send its CSRF token on
            // state-changing requests.
            shared.push("429");
            if method != "get" {
                shared.push("403");
            }
        }
    }
    if json_body {
        shared.extend(["400", "413", "415", "422"]);
    } else if !body_types.is_empty() {
        shared.extend(["413", "415"]);
    }
    if has_in("query") {
        shared.push("422");
    }
    if has_in("path") {
        shared.push("404");
    }
    if path != "/healthz" {
        shared.push("503");
    }

    let responses = op
        .entry("responses")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("responses is an object");
    for status in shared {
        responses
            .entry(status.to_string())
            .or_insert_with(|| json!({"description": shared_description(status)}));
    }
    for (status, response) in responses.iter_mut() {
        let Some(response) = response.as_object_mut() else {
            continue;
        };
        let is_error = status.starts_with('4') || status.starts_with('5');
        let described = response
            .get("description")
            .and_then(Value::as_str)
            .is_some_and(|d| !d.trim().is_empty());
        if !described {
            let text = if is_error {
                shared_description(status)
            } else {
                success_description(status)
            };
            response.insert("description".into(), json!(text));
        }
        if is_error {
            response.insert(
                "content".into(),
                json!({"application/json": {"schema": {"$ref": ERROR_SCHEMA}}}),
            );
        } else if let Some(content) = response.get_mut("content").and_then(Value::as_object_mut) {
            binary_schemas(content);
        }
    }
    if let Some(content) = op
        .get_mut("requestBody")
        .and_then(|b| b.get_mut("content"))
        .and_then(Value::as_object_mut)
    {
        binary_schemas(content);
    }
}

/// A parameter is absent or has a value: utoipa's `Option<T>` makes its schema nullable
/// (`type: [T, "null"]`), which would tell clients to send the text "null".
fn not_nullable(parameter: &mut Value) {
    let Some(types) = parameter
        .get_mut("schema")
        .and_then(|s| s.get_mut("type"))
        .filter(|t| t.is_array())
    else {
        return;
    };
    let kept: Vec<Value> = types
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| *t != "null")
        .cloned()
        .collect();
    *types = match kept.as_slice() {
        [one] => one.clone(),
        _ => Value::Array(kept),
    };
}

/// Media bodies are bytes (`format: binary`); an event stream is a sequence of events.
fn binary_schemas(content: &mut Map<String, Value>) {
    for (media_type, entry) in content.iter_mut() {
        if media_type == "application/json" || media_type.ends_with("+json") {
            continue;
        }
        let schema = if media_type == "text/event-stream" {
            // One Server-Sent Event: `event` names the type, `data` is JSON, `id` resumes.
            json!({
                "type": "object",
                "required": ["data"],
                "properties": {
                    "event": {"type": "string"},
                    "data": {"type": "string", "contentMediaType": "application/json"},
                    "id": {"type": "string"},
                    "retry": {"type": "integer", "minimum": 0}
                }
            })
        } else if media_type.starts_with("text/") || media_type == "application/x-subrip" {
            json!({"type": "string"})
        } else {
            json!({"type": "string", "format": "binary"})
        };
        if let Some(entry) = entry.as_object_mut() {
            entry.insert("schema".into(), schema);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_statuses_follow_what_the_operation_declares() {
        let mut doc = json!({"paths": {
            "/api/things/{id}": {"post": {
                "security": [{"bearer": []}],
                "parameters": [{"name": "id", "in": "path"},
                               {"name": "q", "in": "query", "schema": {"type": ["string", "null"]}}],
                "requestBody": {"content": {"application/json": {"schema": {}}}},
                "responses": {"201": {"content": {"application/json": {"schema": {}}}},
                              "409": {"description": "busy"}}
            }},
            "/api/bot/v1/upload": {"put": {
                "security": [{"botToken": []}],
                "requestBody": {"content": {"video/mp4": {"schema": {"type": "array"}}}},
                "responses": {"200": {"description": "stored"}}
            }},
            "/healthz": {"get": {"responses": {"200": {"description": "alive"}}}}
        }});
        complete_value(&mut doc);
        let post = &doc["paths"]["/api/things/{id}"]["post"]["responses"];
        let mut statuses: Vec<&String> = post.as_object().unwrap().keys().collect();
        statuses.sort();
        assert_eq!(
            statuses,
            [
                "201", "400", "401", "403", "404", "409", "413", "415", "422", "429", "503"
            ]
        );
        assert_eq!(post["201"]["description"], "created");
        let params = &doc["paths"]["/api/things/{id}"]["post"]["parameters"];
        assert_eq!(params[1]["schema"]["type"], "string", "a parameter is never null");
        assert_eq!(post["409"]["description"], "busy", "a handler's own words stay");
        assert_eq!(
            post["409"]["content"]["application/json"]["schema"]["$ref"],
            ERROR_SCHEMA
        );

        let put = &doc["paths"]["/api/bot/v1/upload"]["put"];
        let statuses: Vec<&String> = put["responses"].as_object().unwrap().keys().collect();
        assert!(!statuses.iter().any(|s| *s == "429" || *s == "403"), "{statuses:?}");
        assert_eq!(
            put["requestBody"]["content"]["video/mp4"]["schema"],
            json!({"type": "string", "format": "binary"})
        );
        let health: Vec<&String> = doc["paths"]["/healthz"]["get"]["responses"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(health, ["200"]);
    }
}
