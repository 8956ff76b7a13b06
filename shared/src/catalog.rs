//! The event catalog: every category and event type the service knows, with their stable
//! codes, names and one-line descriptions.
//!
//! This is the single source of truth (the catalog of docs/events.md). Codes are stable
//! forever; the category of an event type is its code rounded down to the hundred
//! ([`EventTypeCode::category`], the only place that rule is written), and a test checks
//! that every type's category exists.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The stable numeric code of a category, a multiple of 100 (e.g. `200`, `UserAction`).
/// Serialized as the bare number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CategoryCode(pub u16);

/// The stable numeric code of an event type (e.g. `202`, `LoginFailed`). Serialized as the
/// bare number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventTypeCode(pub u16);

impl EventTypeCode {
    /// The code of the category this type belongs to: the code rounded down to the hundred.
    pub const fn category(self) -> CategoryCode {
        CategoryCode(self.0 / 100 * 100)
    }
}

macro_rules! code_traits {
    ($($code:ty),*) => {$(
        impl std::fmt::Display for $code {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        // Lets tests and tools compare a code with a literal (`code == 202`).
        impl PartialEq<u16> for $code {
            fn eq(&self, other: &u16) -> bool {
                self.0 == *other
            }
        }

        impl From<$code> for u16 {
            fn from(code: $code) -> u16 {
                code.0
            }
        }
    )*};
}
code_traits!(CategoryCode, EventTypeCode);

/// A category of audit events, such as `Configuration` (100).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Category {
    /// Stable numeric code, a multiple of 100.
    #[schema(value_type = u16)]
    pub code: CategoryCode,
    /// Stable name, as clients spell it.
    pub name: &'static str,
    /// What the category covers.
    pub description: &'static str,
}

/// An event type, such as `LoginFailed` (202).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventType {
    /// Stable numeric code; its category is the code rounded down to the hundred.
    #[schema(value_type = u16)]
    pub code: EventTypeCode,
    /// Stable name, as clients spell it.
    pub name: &'static str,
    /// Code of the category this type belongs to.
    #[schema(value_type = u16)]
    pub category: CategoryCode,
    /// When an event of this type is recorded.
    pub description: &'static str,
    /// Whether an event of this type records a failure unless the sender says otherwise.
    #[serde(skip)]
    pub failure_by_default: bool,
}

const fn category(code: u16, name: &'static str, description: &'static str) -> Category {
    Category {
        code: CategoryCode(code),
        name,
        description,
    }
}

const fn event(code: u16, name: &'static str, description: &'static str) -> EventType {
    EventType {
        code: EventTypeCode(code),
        name,
        category: EventTypeCode(code).category(),
        description,
        failure_by_default: false,
    }
}

const fn failure(code: u16, name: &'static str, description: &'static str) -> EventType {
    EventType {
        failure_by_default: true,
        ..event(code, name, description)
    }
}

/// Every category, in code order.
pub const CATEGORIES: &[Category] = &[
    category(
        100,
        "Configuration",
        "Changes made to the platform's configuration in the UI.",
    ),
    category(200, "UserAction", "Sign-in and sign-out activity of users."),
    category(300, "Alerts", "Actions taken on alerts."),
    category(400, "Reporting", "Reports viewed or downloaded."),
    category(
        500,
        "ImportExport",
        "Flows and connection details imported or exported.",
    ),
    category(
        600,
        "Transfer",
        "File transfers started or performed by hand or by schedule.",
    ),
    category(700, "ThruNode", "ThruNode agents installed or removed."),
    category(800, "Security", "Account security events."),
];

/// Every event type, in code order.
pub const EVENT_TYPES: &[EventType] = &[
    event(
        101,
        "UserChange",
        "When a user is created, updated or deleted.",
    ),
    event(
        102,
        "UserGroupChange",
        "When a user group is created, updated or deleted.",
    ),
    event(
        103,
        "PermissionsChange",
        "When permissions of a user or group are changed.",
    ),
    event(
        104,
        "FlowChange",
        "When a flow is created, updated or deleted.",
    ),
    event(
        105,
        "OrganizationChange",
        "When an organization is created, updated or deleted.",
    ),
    event(
        106,
        "EndpointChange",
        "When an endpoint is created, updated or deleted.",
    ),
    event(
        107,
        "ThruNodeChange",
        "When a ThruNode is configured, updated or deleted.",
    ),
    event(
        108,
        "FlowEndpointChange",
        "When an endpoint of a flow is created, updated or deleted.",
    ),
    event(
        109,
        "SSHKeyChange",
        "When an SSH key is created, updated or deleted.",
    ),
    event(
        110,
        "PGPKeyChange",
        "When a PGP key is created, updated or deleted.",
    ),
    event(
        111,
        "CertificateChange",
        "When a certificate is created, updated or deleted.",
    ),
    event(201, "LoginSuccess", "When a user logs in successfully."),
    failure(202, "LoginFailed", "When a login attempt fails."),
    event(203, "Logout", "When a user logs out."),
    event(
        204,
        "SSOLoginSuccess",
        "When a user logs in successfully through single sign-on.",
    ),
    failure(
        205,
        "SSOLoginFailed",
        "When a single sign-on login attempt fails.",
    ),
    event(
        211,
        "OneTimePasscodeSent",
        "When a one-time passcode is sent for multi-factor authentication.",
    ),
    event(301, "AlertAcknowledge", "When an alert is acknowledged."),
    event(302, "AlertClear", "When an alert is cleared."),
    event(303, "AlertSuppress", "When an alert is suppressed."),
    event(
        304,
        "AlertReactivate",
        "When a suppressed or cleared alert is reactivated.",
    ),
    event(401, "ReportDownload", "When a report is downloaded."),
    event(501, "FlowExport", "When a flow is exported."),
    event(502, "FlowImport", "When a flow is imported."),
    event(
        503,
        "ExportConnectionInfo",
        "When connection information is exported.",
    ),
    event(
        601,
        "FlowEndpointScheduleRun",
        "When a flow endpoint runs on its schedule.",
    ),
    event(602, "FlowManualRun", "When a flow is run manually."),
    event(
        603,
        "ManualFileDownload",
        "When a file is downloaded manually.",
    ),
    event(604, "ManualFileUpload", "When a file is uploaded manually."),
    event(701, "ThruNodeInstall", "When a ThruNode is installed."),
    event(702, "ThruNodeUninstall", "When a ThruNode is uninstalled."),
    event(801, "SessionTimeout", "When a user session times out."),
    failure(
        802,
        "AccountLockout",
        "When an account is locked out after repeated failed logins.",
    ),
    event(
        803,
        "ForgotUsername",
        "When a user asks for a forgotten username.",
    ),
    event(
        804,
        "ForgotPassword",
        "When a user asks to reset a forgotten password.",
    ),
    event(
        805,
        "AccountUnban",
        "When a locked or banned account is unlocked.",
    ),
];

/// Why a catalog lookup failed; the message is meant for the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    /// The value is neither a known code nor a known name.
    #[error("unknown {kind} '{value}': expected a {kind} code or name from the catalog")]
    Unknown {
        /// `category` or `event type`.
        kind: &'static str,
        /// The value as given.
        value: String,
    },
}

/// What categories and event types share: a fixed table of entries, each found by its code
/// or by its case-insensitive name. Bring it into scope to call `Category::parse` and kin.
pub trait CatalogEntry: Sized + 'static {
    /// The entry's code type.
    type Code: Copy + PartialEq + From<u16>;
    /// What the entries are called in error messages.
    const KIND: &'static str;
    /// Every entry, in code order.
    fn all() -> &'static [Self];
    /// The entry's code.
    fn code(&self) -> Self::Code;
    /// The entry's name.
    fn name(&self) -> &'static str;

    /// The entry with this code.
    fn by_code(code: Self::Code) -> Option<&'static Self> {
        Self::all().iter().find(|e| e.code() == code)
    }

    /// The entry with this name, compared case-insensitively.
    fn by_name(name: &str) -> Option<&'static Self> {
        Self::all()
            .iter()
            .find(|e| e.name().eq_ignore_ascii_case(name))
    }

    /// Parses a code (`100`, `202`) or a case-insensitive name (`configuration`,
    /// `LoginFailed`).
    fn parse(value: &str) -> Result<&'static Self, CatalogError> {
        let value = value.trim();
        let found = match value.parse::<u16>() {
            Ok(code) => Self::by_code(Self::Code::from(code)),
            Err(_) => Self::by_name(value),
        };
        found.ok_or_else(|| CatalogError::Unknown {
            kind: Self::KIND,
            value: value.to_owned(),
        })
    }
}

impl From<u16> for CategoryCode {
    fn from(code: u16) -> Self {
        CategoryCode(code)
    }
}

impl From<u16> for EventTypeCode {
    fn from(code: u16) -> Self {
        EventTypeCode(code)
    }
}

impl CatalogEntry for Category {
    type Code = CategoryCode;
    const KIND: &'static str = "category";
    fn all() -> &'static [Self] {
        CATEGORIES
    }
    fn code(&self) -> CategoryCode {
        self.code
    }
    fn name(&self) -> &'static str {
        self.name
    }
}

impl CatalogEntry for EventType {
    type Code = EventTypeCode;
    const KIND: &'static str = "event type";
    fn all() -> &'static [Self] {
        EVENT_TYPES
    }
    fn code(&self) -> EventTypeCode {
        self.code
    }
    fn name(&self) -> &'static str {
        self.name
    }
}

impl Category {
    /// The event types of this category, in code order.
    pub fn event_types(&self) -> impl Iterator<Item = &'static EventType> + '_ {
        EVENT_TYPES.iter().filter(move |t| t.category == self.code)
    }
}

impl EventType {
    /// The category this type belongs to.
    pub fn category(&self) -> &'static Category {
        // Every type's category exists: `catalog_is_consistent` pins it.
        Category::by_code(self.category).unwrap_or(&CATEGORIES[0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The catalog of docs/events.md, transcribed independently of the constants above.
    type Types = &'static [(u16, &'static str)];
    const DOCUMENTED: &[(u16, &str, Types)] = &[
        (
            100,
            "Configuration",
            &[
                (101, "UserChange"),
                (102, "UserGroupChange"),
                (103, "PermissionsChange"),
                (104, "FlowChange"),
                (105, "OrganizationChange"),
                (106, "EndpointChange"),
                (107, "ThruNodeChange"),
                (108, "FlowEndpointChange"),
                (109, "SSHKeyChange"),
                (110, "PGPKeyChange"),
                (111, "CertificateChange"),
            ],
        ),
        (
            200,
            "UserAction",
            &[
                (201, "LoginSuccess"),
                (202, "LoginFailed"),
                (203, "Logout"),
                (204, "SSOLoginSuccess"),
                (205, "SSOLoginFailed"),
                (211, "OneTimePasscodeSent"),
            ],
        ),
        (
            300,
            "Alerts",
            &[
                (301, "AlertAcknowledge"),
                (302, "AlertClear"),
                (303, "AlertSuppress"),
                (304, "AlertReactivate"),
            ],
        ),
        (400, "Reporting", &[(401, "ReportDownload")]),
        (
            500,
            "ImportExport",
            &[
                (501, "FlowExport"),
                (502, "FlowImport"),
                (503, "ExportConnectionInfo"),
            ],
        ),
        (
            600,
            "Transfer",
            &[
                (601, "FlowEndpointScheduleRun"),
                (602, "FlowManualRun"),
                (603, "ManualFileDownload"),
                (604, "ManualFileUpload"),
            ],
        ),
        (
            700,
            "ThruNode",
            &[(701, "ThruNodeInstall"), (702, "ThruNodeUninstall")],
        ),
        (
            800,
            "Security",
            &[
                (801, "SessionTimeout"),
                (802, "AccountLockout"),
                (803, "ForgotUsername"),
                (804, "ForgotPassword"),
                (805, "AccountUnban"),
            ],
        ),
    ];

    #[test]
    fn the_catalog_holds_exactly_the_36_types_and_8_categories_of_the_design() {
        assert_eq!(CATEGORIES.len(), 8);
        assert_eq!(EVENT_TYPES.len(), 36);
        let mut expected_types = 0;
        for (code, name, types) in DOCUMENTED {
            let category = Category::by_code(CategoryCode(*code)).unwrap();
            assert_eq!(category.name, *name);
            let actual: Vec<(u16, &str)> =
                category.event_types().map(|t| (t.code.0, t.name)).collect();
            assert_eq!(actual, types.to_vec(), "types of category {name}");
            expected_types += types.len();
        }
        assert_eq!(expected_types, EVENT_TYPES.len());
    }

    #[test]
    fn every_type_and_category_has_a_one_line_description() {
        for t in EVENT_TYPES {
            assert!(
                t.description.starts_with("When "),
                "{}: {}",
                t.name,
                t.description
            );
            assert!(t.description.ends_with('.') && !t.description.contains('\n'));
        }
        for c in CATEGORIES {
            assert!(!c.description.is_empty() && c.description.ends_with('.'));
        }
        assert_eq!(
            EventType::by_code(EventTypeCode(202)).unwrap().description,
            "When a login attempt fails."
        );
    }

    #[test]
    fn catalog_is_consistent() {
        for t in EVENT_TYPES {
            // Independent of `EventTypeCode::category`, which this checks.
            assert_eq!(t.category.0, t.code.0 - t.code.0 % 100);
            assert!(Category::by_code(t.category).is_some(), "{}", t.name);
            assert_eq!(t.category().code, t.category);
        }
        let mut codes: Vec<EventTypeCode> = EVENT_TYPES.iter().map(|t| t.code).collect();
        codes.dedup();
        assert_eq!(
            codes.len(),
            EVENT_TYPES.len(),
            "codes are unique and sorted"
        );
        assert!(codes.windows(2).all(|w| w[0] < w[1]));
        let mut names: Vec<String> = EVENT_TYPES.iter().map(|t| t.name.to_lowercase()).collect();
        names.sort();
        names.dedup();
        assert_eq!(
            names.len(),
            EVENT_TYPES.len(),
            "names are unique ignoring case"
        );
    }

    #[test]
    fn lookups_accept_codes_and_case_insensitive_names() {
        assert_eq!(Category::parse("100").unwrap().name, "Configuration");
        assert_eq!(Category::parse("configuration").unwrap().code, 100);
        assert_eq!(Category::parse("IMPORTEXPORT").unwrap().code, 500);
        assert_eq!(EventType::parse("202").unwrap().name, "LoginFailed");
        assert_eq!(EventType::parse("loginfailed").unwrap().code, 202);
        assert_eq!(
            EventType::parse(" 211 ").unwrap().name,
            "OneTimePasscodeSent"
        );
    }

    #[test]
    fn lookups_reject_unknown_values_naming_them() {
        for bad in ["0", "150", "900", "Nope", "", "-100"] {
            let err = Category::parse(bad).unwrap_err();
            assert!(
                err.to_string().contains(&format!("'{}'", bad.trim())),
                "{err}"
            );
        }
        for bad in ["0", "100", "206", "LoginFail"] {
            assert!(EventType::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn failure_types_default_to_failure() {
        let failing: Vec<&str> = EVENT_TYPES
            .iter()
            .filter(|t| t.failure_by_default)
            .map(|t| t.name)
            .collect();
        assert_eq!(failing, ["LoginFailed", "SSOLoginFailed", "AccountLockout"]);
    }
}
