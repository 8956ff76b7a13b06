//! DynamoDB's published on-demand prices, in one place, and what a workload costs at them.
//!
//! The prices are those of AWS's page "Amazon DynamoDB pricing for on-demand capacity"
//! ([`SOURCE`]), read on [`READ_ON`], region [`REGION`]. Storage is billed on every stored
//! byte, table and indexes, each item with AWS's 100-byte overhead; point-in-time recovery
//! on the table's size (its global secondary indexes are rebuilt on restore, not backed up).

/// Where the prices come from.
pub const SOURCE: &str = "AWS's page \"Amazon DynamoDB pricing for on-demand capacity\"";
/// When that page was read.
pub const READ_ON: &str = "2026-12-01";
/// The region whose prices these are.
pub const REGION: &str = "us-east-1";
/// Bytes in the GB of a GB-month.
pub const GB: f64 = 1_073_741_824.0;
/// Point-in-time recovery, $ per GB-month of table, either table class.
pub const PITR_PER_GB_MONTH: f64 = 0.20;
/// Days in an average month.
pub const DAYS_PER_MONTH: f64 = 365.0 / 12.0;

/// A table class and its prices.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TableClass {
    /// The name the stack parameter and DynamoDB use.
    pub name: &'static str,
    /// $ per million write request units.
    pub write_per_million: f64,
    /// $ per million read request units.
    pub read_per_million: f64,
    /// $ per GB-month stored.
    pub storage_per_gb_month: f64,
}

/// DynamoDB Standard.
pub const STANDARD: TableClass = TableClass {
    name: "STANDARD",
    write_per_million: 0.625,
    read_per_million: 0.125,
    storage_per_gb_month: 0.25,
};

/// DynamoDB Standard-Infrequent Access.
pub const STANDARD_IA: TableClass = TableClass {
    name: "STANDARD_INFREQUENT_ACCESS",
    write_per_million: 0.78,
    read_per_million: 0.155,
    storage_per_gb_month: 0.10,
};

/// Both classes, Standard first.
pub const CLASSES: [TableClass; 2] = [STANDARD, STANDARD_IA];

/// What one event and one first page cost in units and bytes (one variant's figures).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UnitCosts {
    /// Write units per event written, table and indexes.
    pub write_units_per_event: f64,
    /// Bytes per event stored in the table, with the per-item overhead.
    pub table_bytes_per_event: f64,
    /// Bytes per event stored in the table and every index, with the per-item overheads.
    pub stored_bytes_per_event: f64,
    /// Read units per first page, averaged over the measured requests.
    pub read_units_per_page: f64,
}

/// Events written and first pages read per day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Workload {
    /// Events written per day.
    pub events_per_day: f64,
    /// First pages read per day.
    pub pages_per_day: f64,
}

impl TableClass {
    /// $ per million events written.
    pub fn per_million_written(&self, c: &UnitCosts) -> f64 {
        c.write_units_per_event * self.write_per_million
    }

    /// $ per million events kept a month, point-in-time recovery included.
    pub fn per_million_kept_month(&self, c: &UnitCosts) -> f64 {
        1e6 * (c.stored_bytes_per_event * self.storage_per_gb_month
            + c.table_bytes_per_event * PITR_PER_GB_MONTH)
            / GB
    }

    /// $ per thousand first pages.
    pub fn per_thousand_pages(&self, c: &UnitCosts) -> f64 {
        1e3 * c.read_units_per_page * self.read_per_million / 1e6
    }

    /// $ of one month's writes and reads of `w`.
    fn traffic_month(&self, c: &UnitCosts, w: &Workload) -> f64 {
        DAYS_PER_MONTH
            * (w.events_per_day / 1e6 * self.per_million_written(c)
                + w.pages_per_day / 1e3 * self.per_thousand_pages(c))
    }

    /// $ of keeping `events` events for a month.
    fn storage_month(&self, c: &UnitCosts, events: f64) -> f64 {
        events * self.per_million_kept_month(c) / 1e6
    }

    /// The bill of `w` for the month that ends `years` years after the first event, events
    /// kept `years` years (the table full: writes, reads and every kept event).
    pub fn monthly_bill_at(&self, c: &UnitCosts, w: &Workload, years: u32) -> f64 {
        let kept = w.events_per_day * DAYS_PER_MONTH * 12.0 * f64::from(years);
        self.traffic_month(c, w) + self.storage_month(c, kept)
    }

    /// The sum of the monthly bills of `w` over `years` years, events kept all that time
    /// (each month stores what was written before it and half of its own).
    pub fn total_over(&self, c: &UnitCosts, w: &Workload, years: u32) -> f64 {
        let per_month = w.events_per_day * DAYS_PER_MONTH;
        (1..=12 * years)
            .map(|m| {
                self.traffic_month(c, w) + self.storage_month(c, (f64::from(m) - 0.5) * per_month)
            })
            .sum()
    }
}

/// The retention, in months, beyond which Standard-IA's monthly bill of `w` is lower than
/// Standard's: the extra price of its writes and reads over the saving on storage per month
/// of events kept (point-in-time recovery is priced alike in both). `None` when there is none.
pub fn infrequent_access_break_even_months(c: &UnitCosts, w: &Workload) -> Option<f64> {
    let extra_traffic = STANDARD_IA.traffic_month(c, w) - STANDARD.traffic_month(c, w);
    let events_month = w.events_per_day * DAYS_PER_MONTH;
    let saving_per_month_kept = events_month
        * c.stored_bytes_per_event
        * (STANDARD.storage_per_gb_month - STANDARD_IA.storage_per_gb_month)
        / GB;
    (saving_per_month_kept > 0.0).then(|| extra_traffic / saving_per_month_kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE_KB_EVENT: UnitCosts = UnitCosts {
        write_units_per_event: 2.0,
        table_bytes_per_event: GB / 2e6,
        stored_bytes_per_event: GB / 1e6,
        read_units_per_page: 10.0,
    };
    const WORKLOAD: Workload = Workload {
        events_per_day: 1e6,
        pages_per_day: 1e4,
    };

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9 * b.abs().max(1.0)
    }

    #[test]
    fn unit_prices_follow_the_published_prices() {
        assert!(close(STANDARD.per_million_written(&ONE_KB_EVENT), 1.25));
        // A million events of one GB in all, half a GB of table: storage plus PITR.
        assert!(close(
            STANDARD.per_million_kept_month(&ONE_KB_EVENT),
            0.25 + 0.10
        ));
        assert!(close(
            STANDARD_IA.per_million_kept_month(&ONE_KB_EVENT),
            0.10 + 0.10
        ));
        assert!(close(STANDARD.per_thousand_pages(&ONE_KB_EVENT), 0.00125));
    }

    #[test]
    fn a_bill_adds_traffic_and_what_is_kept() {
        let traffic = DAYS_PER_MONTH * (1.25 + 10.0 * 1e4 * 0.125 / 1e6);
        let kept = 365.0 * 0.35;
        assert!(close(
            STANDARD.monthly_bill_at(&ONE_KB_EVENT, &WORKLOAD, 1),
            traffic + kept
        ));
        // Over a year, storage grows month by month: on average half the year is kept.
        let total = STANDARD.total_over(&ONE_KB_EVENT, &WORKLOAD, 1);
        assert!(close(total, 12.0 * traffic + 12.0 * kept / 2.0), "{total}");
    }

    #[test]
    fn infrequent_access_pays_off_after_the_break_even_retention() {
        let months = infrequent_access_break_even_months(&ONE_KB_EVENT, &WORKLOAD).unwrap();
        let bill = |class: &TableClass, months: f64| {
            class.traffic_month(&ONE_KB_EVENT, &WORKLOAD)
                + class.storage_month(&ONE_KB_EVENT, months * 1e6 * DAYS_PER_MONTH)
        };
        assert!(close(bill(&STANDARD, months), bill(&STANDARD_IA, months)));
        assert!(bill(&STANDARD_IA, months + 1.0) < bill(&STANDARD, months + 1.0));
        assert!(bill(&STANDARD_IA, months - 1.0) > bill(&STANDARD, months - 1.0));
    }
}
