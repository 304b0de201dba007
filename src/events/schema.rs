//! JSON Schemas of the event types, generated from the Rust types. The files in `schemas/`
//! are these, committed; a test fails when they drift (`UPDATE_SCHEMAS=1 cargo test
//! --lib schemas` rewrites them).

use schemars::schema_for;
use serde_json::{json, Map, Value};

use super::{EventData, EventHeader};

/// (file name, schema) for every event type.
pub fn event_schemas() -> Vec<(String, Value)> {
    EventData::data_schemas()
        .into_iter()
        .map(|(name, topic, data)| {
            let mut schema = to_object(serde_json::to_value(schema_for!(EventHeader)).unwrap_or_default());
            let mut data = to_object(serde_json::to_value(data).unwrap_or_default());
            let mut definitions = take_object(&mut schema, "definitions");
            definitions.extend(take_object(&mut data, "definitions"));
            data.remove("$schema");
            data.remove("title");
            let properties = schema.entry("properties").or_insert_with(|| json!({}));
            properties["event_type"] = json!({ "const": name, "type": "string" });
            properties["data"] = Value::Object(data);
            if let Some(Value::Array(required)) = schema.get_mut("required") {
                required.push(json!("data"));
            }
            schema.insert("title".into(), json!(name));
            schema.insert(
                "description".into(),
                json!(format!(
                    "{name} on {}; key = {}",
                    topic.base_name(),
                    if name == "series.advance" {
                        "series id"
                    } else {
                        "task id"
                    }
                )),
            );
            if !definitions.is_empty() {
                schema.insert("definitions".into(), Value::Object(definitions));
            }
            (format!("{name}.schema.json"), Value::Object(schema))
        })
        .collect()
}

fn to_object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn take_object(object: &mut Map<String, Value>, key: &str) -> Map<String, Value> {
    object.remove(key).map(to_object).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn committed_schemas_match_the_types() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
        let update = std::env::var("UPDATE_SCHEMAS").is_ok();
        for (file, schema) in event_schemas() {
            let path = dir.join(&file);
            if update {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, serde_json::to_string_pretty(&schema).unwrap() + "\n").unwrap();
                continue;
            }
            let committed: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_default()).unwrap_or(Value::Null);
            assert_eq!(
                committed, schema,
                "schemas/{file} differs from the Rust types; run UPDATE_SCHEMAS=1 cargo test --lib schemas"
            );
        }
        let committed = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
        assert_eq!(
            committed,
            EventData::TYPES.len(),
            "schemas/ holds a file for a type that no longer exists"
        );
    }
}
