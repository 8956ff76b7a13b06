//! Creates the audit table on the engine named by the configuration (normally DynamoDB
//! Local) from the shared table definition, unless it exists already.
//!
//! Reads `AUDIT_TABLE_NAME`, `AUDIT_DYNAMODB_ENDPOINT` and `AWS_REGION`.

use std::process::ExitCode;

use audit_shared::config::Config;
use audit_shared::store::{create_table, dynamo_client};
use audit_shared::table::TableDefinition;

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("create-table: {e}");
            return ExitCode::from(2);
        }
    };
    if config.endpoint_url.is_none() {
        eprintln!("create-table: AUDIT_DYNAMODB_ENDPOINT is not set; this tool is for a local engine (in AWS the stack creates the table)");
        return ExitCode::from(2);
    }
    let client = match dynamo_client(&config).await {
        Ok(client) => client,
        Err(e) => {
            eprintln!("create-table: {e}");
            return ExitCode::FAILURE;
        }
    };
    let exists = client
        .describe_table()
        .table_name(&config.table_name)
        .send()
        .await
        .is_ok();
    if exists {
        println!("table {} exists", config.table_name);
        return ExitCode::SUCCESS;
    }
    match create_table(&client, &config.table_name, &TableDefinition::audit()).await {
        Ok(()) => {
            println!("table {} created", config.table_name);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("create-table: {e}");
            ExitCode::FAILURE
        }
    }
}
