//! The revocation table as the template creates it, and the TTL process
//! moto does not run.

use aws_sdk_dynamodb as ddb;

/// Creates the revocation table as the template does (key `pk`, TTL `expires_at`).
pub async fn create_table(ddb: &ddb::Client, table: &str) {
    use ddb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    ddb.create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("create table");
    ddb.update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            ddb::types::TimeToLiveSpecification::builder()
                .attribute_name("expires_at")
                .enabled(true)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("enable TTL");
}

/// Deletes every item of `table` whose `expires_at` lies before `now_s`, as
/// DynamoDB's TTL process may by then (moto never expires items). Returns how
/// many it deleted.
pub async fn expire_items(ddb: &ddb::Client, table: &str, now_s: u64) -> usize {
    let mut deleted = 0;
    let mut start = None;
    loop {
        let page = ddb
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan");
        for item in page.items() {
            let expires_at: Option<u64> = item
                .get("expires_at")
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse().ok());
            if expires_at.is_some_and(|e| e < now_s) {
                ddb.delete_item()
                    .table_name(table)
                    .key("pk", item["pk"].clone())
                    .send()
                    .await
                    .expect("delete an expired item");
                deleted += 1;
            }
        }
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return deleted;
        }
    }
}
