//! A bulkUpload body (a SCIM BulkRequest, spec §5) checked into records, all or nothing: any
//! problem rejects the whole request, with a message that names the operation.

use domain::inbound::StagedRecord;
use domain::{Error, Result};
use serde_json::{Map, Value};

use crate::spec::Source;

/// Checks a BulkRequest and returns its operations as records, in order. `known_schema` says
/// whether a schema URN in an operation's `data.schemas` is known to the tenant.
pub fn parse_bulk(
    body: Value,
    source: &Source,
    known_schema: &dyn Fn(&str) -> bool,
) -> Result<Vec<StagedRecord>> {
    let Value::Object(body) = body else {
        return Err(Error::InvalidSyntax(
            "the request body must be a JSON object (a SCIM BulkRequest)".into(),
        ));
    };
    check_schemas(&body)?;
    let mut body = body;
    let ops = match body.remove("Operations") {
        Some(Value::Array(ops)) => ops,
        Some(_) => {
            return Err(Error::InvalidSyntax(
                "`Operations` must be an array of operations".into(),
            ))
        }
        None => {
            return Err(Error::InvalidSyntax(
                "the BulkRequest has no `Operations`".into(),
            ))
        }
    };
    if ops.is_empty() {
        return Err(Error::InvalidValue(
            "`Operations` is empty; send at least one record".into(),
        ));
    }
    let max = source.spec.max_operations;
    if ops.len() > max {
        return Err(Error::TooMany(format!(
            "the request has {} operations; at most {max} are allowed per request",
            ops.len()
        )));
    }
    ops.into_iter()
        .enumerate()
        .map(|(index, op)| parse_operation(index, op, source, known_schema))
        .collect()
}

fn check_schemas(body: &Map<String, Value>) -> Result<()> {
    let schemas = match body.get("schemas") {
        Some(Value::Array(s)) => s,
        _ => {
            return Err(Error::InvalidSyntax(format!(
                "`schemas` must be [\"{}\"]",
                scim_proto::BULK_REQUEST
            )))
        }
    };
    for schema in schemas {
        let uri = schema.as_str().unwrap_or_default();
        if !uri.eq_ignore_ascii_case(scim_proto::BULK_REQUEST) {
            return Err(Error::InvalidValue(format!(
                "unknown schema `{}` in `schemas`; a bulkUpload body is a `{}`",
                schema
                    .as_str()
                    .map_or_else(|| schema.to_string(), str::to_owned),
                scim_proto::BULK_REQUEST
            )));
        }
    }
    if schemas.is_empty() {
        return Err(Error::InvalidSyntax(format!(
            "`schemas` must be [\"{}\"]",
            scim_proto::BULK_REQUEST
        )));
    }
    Ok(())
}

fn parse_operation(
    index: usize,
    op: Value,
    source: &Source,
    known_schema: &dyn Fn(&str) -> bool,
) -> Result<StagedRecord> {
    let Value::Object(mut op) = op else {
        return Err(Error::InvalidSyntax(format!(
            "operation {index} is not a JSON object"
        )));
    };
    let bulk_id = match op.get("bulkId") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(_) => {
            return Err(Error::InvalidValue(format!(
                "operation {index}: `bulkId` must be a string"
            )))
        }
    };
    let at = match &bulk_id {
        Some(b) => format!("operation {index} (bulkId `{b}`)"),
        None => format!("operation {index}"),
    };
    let method = op.get("method").and_then(Value::as_str).unwrap_or_default();
    if !method.eq_ignore_ascii_case("POST") {
        return Err(Error::InvalidValue(format!(
            "{at}: method `{method}` is not supported; bulkUpload records are sent with `POST`"
        )));
    }
    let path = op.get("path").and_then(Value::as_str).unwrap_or_default();
    if !path.eq_ignore_ascii_case("/Users") {
        return Err(Error::InvalidValue(format!(
            "{at}: path `{path}` is not supported; bulkUpload records go to `/Users`"
        )));
    }
    let Some(Value::Object(data)) = op.remove("data") else {
        return Err(Error::InvalidSyntax(format!(
            "{at}: `data` must be the user as a JSON object"
        )));
    };
    if let Some(schemas) = data.get("schemas") {
        let Value::Array(schemas) = schemas else {
            return Err(Error::InvalidSyntax(format!(
                "{at}: `data.schemas` must be an array of schema URNs"
            )));
        };
        for schema in schemas {
            match schema.as_str() {
                Some(uri) if known_schema(uri) => {}
                _ => {
                    return Err(Error::InvalidValue(format!(
                        "{at}: unknown schema {schema} in `data.schemas`"
                    )))
                }
            }
        }
    }
    let data = Value::Object(data);
    let key = crate::process::match_key(&data, source);
    if key.is_none() {
        return Err(Error::InvalidValue(format!(
            "{at}: the record has no `{}`, which matches it to a directory user",
            source.spec.matching.incoming
        )));
    }
    Ok(StagedRecord {
        index: index as u64,
        bulk_id,
        external_id: data
            .get("externalId")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or(key),
        data,
    })
}
