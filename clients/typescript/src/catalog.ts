// The catalog of event types and categories, as the service serves it at
// GET /api/Audit/eventTypes and /categories (shared/src/catalog.rs). Written out so that
// the package works offline; test/unit.test.ts checks it against docs/events.md and
// test/stack.test.ts against the running service, so the two cannot drift.

/** A category of audit events. */
export interface Category {
  readonly code: number;
  readonly name: string;
  readonly description: string;
}

/** An event type of the catalog. */
export interface EventType {
  readonly code: number;
  readonly name: string;
  /** The category's code. */
  readonly category: number;
  readonly description: string;
  /** Whether an event of this type records a failure unless the sender says otherwise. */
  readonly failureByDefault: boolean;
}

/** Every category, in code order. */
export const CATEGORIES: readonly Category[] = [
  { code: 100, name: "Configuration", description: "Changes made to the platform's configuration in the UI." },
  { code: 200, name: "UserAction", description: "Sign-in and sign-out activity of users." },
  { code: 300, name: "Alerts", description: "Actions taken on alerts." },
  { code: 400, name: "Reporting", description: "Reports viewed or downloaded." },
  { code: 500, name: "ImportExport", description: "Flows and connection details imported or exported." },
  { code: 600, name: "Transfer", description: "File transfers started or performed by hand or by schedule." },
  { code: 700, name: "ThruNode", description: "ThruNode agents installed or removed." },
  { code: 800, name: "Security", description: "Account security events." },
];

/** Every event type, in code order. */
export const EVENT_TYPES: readonly EventType[] = [
  { code: 101, name: "UserChange", category: 100, description: "When a user is created, updated or deleted.", failureByDefault: false },
  { code: 102, name: "UserGroupChange", category: 100, description: "When a user group is created, updated or deleted.", failureByDefault: false },
  { code: 103, name: "PermissionsChange", category: 100, description: "When permissions of a user or group are changed.", failureByDefault: false },
  { code: 104, name: "FlowChange", category: 100, description: "When a flow is created, updated or deleted.", failureByDefault: false },
  { code: 105, name: "OrganizationChange", category: 100, description: "When an organization is created, updated or deleted.", failureByDefault: false },
  { code: 106, name: "EndpointChange", category: 100, description: "When an endpoint is created, updated or deleted.", failureByDefault: false },
  { code: 107, name: "ThruNodeChange", category: 100, description: "When a ThruNode is configured, updated or deleted.", failureByDefault: false },
  { code: 108, name: "FlowEndpointChange", category: 100, description: "When an endpoint of a flow is created, updated or deleted.", failureByDefault: false },
  { code: 109, name: "SSHKeyChange", category: 100, description: "When an SSH key is created, updated or deleted.", failureByDefault: false },
  { code: 110, name: "PGPKeyChange", category: 100, description: "When a PGP key is created, updated or deleted.", failureByDefault: false },
  { code: 111, name: "CertificateChange", category: 100, description: "When a certificate is created, updated or deleted.", failureByDefault: false },
  { code: 201, name: "LoginSuccess", category: 200, description: "When a user logs in successfully.", failureByDefault: false },
  { code: 202, name: "LoginFailed", category: 200, description: "When a login attempt fails.", failureByDefault: true },
  { code: 203, name: "Logout", category: 200, description: "When a user logs out.", failureByDefault: false },
  { code: 204, name: "SSOLoginSuccess", category: 200, description: "When a user logs in successfully through single sign-on.", failureByDefault: false },
  { code: 205, name: "SSOLoginFailed", category: 200, description: "When a single sign-on login attempt fails.", failureByDefault: true },
  { code: 211, name: "OneTimePasscodeSent", category: 200, description: "When a one-time passcode is sent for multi-factor authentication.", failureByDefault: false },
  { code: 301, name: "AlertAcknowledge", category: 300, description: "When an alert is acknowledged.", failureByDefault: false },
  { code: 302, name: "AlertClear", category: 300, description: "When an alert is cleared.", failureByDefault: false },
  { code: 303, name: "AlertSuppress", category: 300, description: "When an alert is suppressed.", failureByDefault: false },
  { code: 304, name: "AlertReactivate", category: 300, description: "When a suppressed or cleared alert is reactivated.", failureByDefault: false },
  { code: 401, name: "ReportDownload", category: 400, description: "When a report is downloaded.", failureByDefault: false },
  { code: 501, name: "FlowExport", category: 500, description: "When a flow is exported.", failureByDefault: false },
  { code: 502, name: "FlowImport", category: 500, description: "When a flow is imported.", failureByDefault: false },
  { code: 503, name: "ExportConnectionInfo", category: 500, description: "When connection information is exported.", failureByDefault: false },
  { code: 601, name: "FlowEndpointScheduleRun", category: 600, description: "When a flow endpoint runs on its schedule.", failureByDefault: false },
  { code: 602, name: "FlowManualRun", category: 600, description: "When a flow is run manually.", failureByDefault: false },
  { code: 603, name: "ManualFileDownload", category: 600, description: "When a file is downloaded manually.", failureByDefault: false },
  { code: 604, name: "ManualFileUpload", category: 600, description: "When a file is uploaded manually.", failureByDefault: false },
  { code: 701, name: "ThruNodeInstall", category: 700, description: "When a ThruNode is installed.", failureByDefault: false },
  { code: 702, name: "ThruNodeUninstall", category: 700, description: "When a ThruNode is uninstalled.", failureByDefault: false },
  { code: 801, name: "SessionTimeout", category: 800, description: "When a user session times out.", failureByDefault: false },
  { code: 802, name: "AccountLockout", category: 800, description: "When an account is locked out after repeated failed logins.", failureByDefault: true },
  { code: 803, name: "ForgotUsername", category: 800, description: "When a user asks for a forgotten username.", failureByDefault: false },
  { code: 804, name: "ForgotPassword", category: 800, description: "When a user asks to reset a forgotten password.", failureByDefault: false },
  { code: 805, name: "AccountUnban", category: 800, description: "When a locked or banned account is unlocked.", failureByDefault: false },
];

/** The literal names of the catalog's event types. */
export type EventTypeName = (typeof EVENT_TYPE_NAMES)[number];

/** The names of the catalog's event types, in code order. */
export const EVENT_TYPE_NAMES = [
  "UserChange",
  "UserGroupChange",
  "PermissionsChange",
  "FlowChange",
  "OrganizationChange",
  "EndpointChange",
  "ThruNodeChange",
  "FlowEndpointChange",
  "SSHKeyChange",
  "PGPKeyChange",
  "CertificateChange",
  "LoginSuccess",
  "LoginFailed",
  "Logout",
  "SSOLoginSuccess",
  "SSOLoginFailed",
  "OneTimePasscodeSent",
  "AlertAcknowledge",
  "AlertClear",
  "AlertSuppress",
  "AlertReactivate",
  "ReportDownload",
  "FlowExport",
  "FlowImport",
  "ExportConnectionInfo",
  "FlowEndpointScheduleRun",
  "FlowManualRun",
  "ManualFileDownload",
  "ManualFileUpload",
  "ThruNodeInstall",
  "ThruNodeUninstall",
  "SessionTimeout",
  "AccountLockout",
  "ForgotUsername",
  "ForgotPassword",
  "AccountUnban",
] as const;

/** Why an event type or category was not found. */
export class CatalogError extends Error {
  constructor(kind: string, value: string) {
    super(`unknown ${kind} '${value}': expected a ${kind} code or name from the catalog`);
    this.name = "CatalogError";
  }
}

/** The event type of a code (`202`, `"202"`) or a case-insensitive name (`"LoginFailed"`). */
export function eventTypeOf(value: number | string): EventType {
  const text = String(value).trim();
  const found = /^\d+$/.test(text)
    ? EVENT_TYPES.find((t) => t.code === Number(text))
    : EVENT_TYPES.find((t) => t.name.toLowerCase() === text.toLowerCase());
  if (!found) throw new CatalogError("event type", text);
  return found;
}
