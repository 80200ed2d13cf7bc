//! deploy/template.yaml against the crate: the session table it declares is the one
//! `DynamoDbStore::create_table` makes (made on DynamoDB Local and described back), its
//! parameters' defaults are the crate's, and the function's role grants exactly the DynamoDB
//! calls the store and the example's start make. A change on either side fails here.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aws_sdk_dynamodb::types::{BillingMode, TimeToLiveStatus};
use cognito_session::store::dynamodb::TableSettings;
use serde_norway::Value;

/// deploy/template.yaml, parsed (CloudFormation's `!Ref` and friends are YAML tags).
fn template() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/template.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    serde_norway::from_str(&text).unwrap()
}

/// `value` with every `!Ref PARAMETER` (or `{Ref: PARAMETER}`) replaced by that parameter's
/// default; other references and functions stay as they are.
fn resolve(value: &Value, template: &Value) -> Value {
    let parameter = |name: &str| {
        template["Parameters"]
            .get(name)
            .map(|p| p["Default"].clone())
    };
    match value {
        Value::Tagged(tagged) if tagged.tag == "!Ref" => {
            let name = tagged.value.as_str().unwrap();
            parameter(name).unwrap_or_else(|| value.clone())
        }
        Value::Mapping(map) if map.len() == 1 && map.contains_key("Ref") => {
            let name = map["Ref"].as_str().unwrap();
            parameter(name).unwrap_or_else(|| value.clone())
        }
        Value::Mapping(map) => Value::Mapping(
            map.iter()
                .map(|(k, v)| (k.clone(), resolve(v, template)))
                .collect(),
        ),
        Value::Sequence(items) => {
            Value::Sequence(items.iter().map(|v| resolve(v, template)).collect())
        }
        other => other.clone(),
    }
}

/// A string the template must spell out (after parameters are resolved).
fn text(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("expected a string, got {value:?}"))
        .to_owned()
}

/// What both sides must agree on: key schema, attribute types, indexes (name → key schema,
/// projection), time to live, billing.
#[derive(Debug, PartialEq)]
struct Shape {
    key_schema: Vec<(String, String)>,
    attributes: BTreeSet<(String, String)>,
    indexes: BTreeMap<String, (Vec<(String, String)>, String)>,
    ttl: String,
    billing: String,
}

/// The session table as the template declares it, with the parameters' defaults.
fn template_shape(template: &Value) -> (String, Shape) {
    let table = &template["Resources"]["SessionTable"];
    assert_eq!(table["Type"], "AWS::DynamoDB::Table");
    let props = resolve(&table["Properties"], template);
    let keys = |schema: &Value| -> Vec<(String, String)> {
        schema
            .as_sequence()
            .unwrap()
            .iter()
            .map(|k| (text(&k["AttributeName"]), text(&k["KeyType"])))
            .collect()
    };
    assert_eq!(props["TimeToLiveSpecification"]["Enabled"], true);
    assert_eq!(
        props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], true,
        "point-in-time recovery"
    );
    let shape = Shape {
        key_schema: keys(&props["KeySchema"]),
        attributes: props["AttributeDefinitions"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|a| (text(&a["AttributeName"]), text(&a["AttributeType"])))
            .collect(),
        indexes: props["GlobalSecondaryIndexes"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|i| {
                let projection = text(&i["Projection"]["ProjectionType"]);
                (text(&i["IndexName"]), (keys(&i["KeySchema"]), projection))
            })
            .collect(),
        ttl: text(&props["TimeToLiveSpecification"]["AttributeName"]),
        billing: text(&props["BillingMode"]),
    };
    (text(&props["TableName"]), shape)
}

#[test]
fn the_templates_defaults_are_the_crates() {
    let template = template();
    let defaults = TableSettings::new("any");
    let default = |name: &str| text(&template["Parameters"][name]["Default"]);
    assert_eq!(default("PartitionKey"), defaults.partition_key);
    assert_eq!(default("UsernameIndexName"), defaults.username_index);
}

#[tokio::test]
async fn the_templates_table_is_the_one_create_table_makes() {
    let template = template();
    let (name, declared) = template_shape(&template);
    assert_eq!(name, "cognito-sessions");

    // The table create_table makes, under a name of its own, with the template's keys.
    let mut settings = TableSettings::new(common::unique("template"));
    let resolved = resolve(
        &template["Resources"]["SessionTable"]["Properties"],
        &template,
    );
    settings.partition_key = text(&resolved["KeySchema"][0]["AttributeName"]);
    settings.username_index = text(&resolved["GlobalSecondaryIndexes"][0]["IndexName"]);
    let client = common::dynamo::client(
        &common::dynamodb_local_url(),
        "test",
        Duration::from_secs(30),
    );
    common::dynamo::store(client.clone(), settings.clone())
        .create_table()
        .await
        .expect("create_table");

    let described = client
        .describe_table()
        .table_name(&settings.name)
        .send()
        .await
        .unwrap();
    let table = described.table().unwrap();
    let keys = |schema: &[aws_sdk_dynamodb::types::KeySchemaElement]| {
        schema
            .iter()
            .map(|k| {
                (
                    k.attribute_name().to_owned(),
                    k.key_type().as_str().to_owned(),
                )
            })
            .collect::<Vec<_>>()
    };
    let ttl = client
        .describe_time_to_live()
        .table_name(&settings.name)
        .send()
        .await
        .unwrap();
    let ttl = ttl.time_to_live_description().unwrap();
    assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
    let made = Shape {
        key_schema: keys(table.key_schema()),
        attributes: table
            .attribute_definitions()
            .iter()
            .map(|a| {
                (
                    a.attribute_name().to_owned(),
                    a.attribute_type().as_str().to_owned(),
                )
            })
            .collect(),
        indexes: table
            .global_secondary_indexes()
            .iter()
            .map(|i| {
                let projection = i.projection().unwrap().projection_type().unwrap();
                (
                    i.index_name().unwrap().to_owned(),
                    (keys(i.key_schema()), projection.as_str().to_owned()),
                )
            })
            .collect(),
        ttl: ttl.attribute_name().unwrap().to_owned(),
        billing: table
            .billing_mode_summary()
            .and_then(|b| b.billing_mode())
            .unwrap_or(&BillingMode::Provisioned)
            .as_str()
            .to_owned(),
    };
    assert_eq!(declared, made);
}

/// The DynamoDB operations called on an SDK client in `file`, as IAM names them
/// (`client.get_item().table_name(...)` → `dynamodb:GetItem`; every operation on the
/// session table names it first, which tells them from `client.clone()`).
fn dynamodb_calls(file: &str) -> BTreeSet<String> {
    dynamodb_calls_in(&read(file))
}

/// [`dynamodb_calls`] of the function `name` of `file` alone: from its `fn` to the next.
fn dynamodb_calls_of(file: &str, name: &str) -> BTreeSet<String> {
    let source = read(file);
    let start = source
        .find(&format!("fn {name}("))
        .unwrap_or_else(|| panic!("{file} has no fn {name}"));
    let body = &source[start + 3..];
    let end = body.find("fn ").unwrap_or(body.len());
    dynamodb_calls_in(&body[..end])
}

fn read(file: &str) -> String {
    let path = format!("{}/{file}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn dynamodb_calls_in(source: &str) -> BTreeSet<String> {
    let source: String = source.chars().filter(|c| !c.is_whitespace()).collect();
    source
        .match_indices("client.")
        .filter_map(|(at, found)| {
            let rest = &source[at + found.len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            rest[name.len()..]
                .starts_with("().table_name(")
                .then_some(name)
        })
        .filter(|name| !name.is_empty())
        .map(|name| {
            let pascal: String = name
                .split('_')
                .map(|word| word[..1].to_uppercase() + &word[1..])
                .collect();
            format!("dynamodb:{pascal}")
        })
        .collect()
}

#[test]
fn the_function_may_make_exactly_the_dynamodb_calls_the_code_makes() {
    // What the store calls per request, and what the example calls at start
    // (`SessionManager::from_env`'s check that the table exists); the table's provisioning
    // (the rest of src/store/dynamodb/table.rs) is the template's job, not the function's.
    let mut called = BTreeSet::new();
    for file in [
        "src/store/dynamodb/mod.rs",
        "src/store/dynamodb/item.rs",
        "src/store/dynamodb/user.rs",
        "src/store/dynamodb/error.rs",
    ] {
        called.extend(dynamodb_calls(file));
    }
    let at_start = dynamodb_calls_of("src/store/dynamodb/table.rs", "table_exists");
    assert_eq!(
        at_start,
        BTreeSet::from(["dynamodb:DescribeTable".to_owned()])
    );
    called.extend(at_start);
    assert!(called.contains("dynamodb:GetItem"), "{called:?}");

    let template = template();
    let statements =
        template["Resources"]["SessionFunction"]["Properties"]["Policies"][0]["Statement"]
            .as_sequence()
            .unwrap();
    let granted: BTreeSet<String> = statements
        .iter()
        .filter_map(|s| s["Action"].as_sequence())
        .flatten()
        .map(text)
        .filter(|action| action.starts_with("dynamodb:"))
        .collect();
    assert_eq!(granted, called);
    // Query only on the index.
    let query = statements
        .iter()
        .find(|s| {
            s["Action"]
                .as_sequence()
                .is_some_and(|a| a.contains(&"dynamodb:Query".into()))
        })
        .unwrap();
    let Value::Tagged(resource) = &query["Resource"] else {
        panic!("{:?}", query["Resource"]);
    };
    assert_eq!(resource.tag, "!Sub");
    assert_eq!(
        resource.value,
        Value::from("${SessionTable.Arn}/index/${UsernameIndexName}")
    );
}
