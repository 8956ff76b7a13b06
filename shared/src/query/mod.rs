//! Query planning: from validated filters to index streams, merged lazily in sort-key order.
