// Two-way sync on targets without replication origins (MySQL/MariaDB): a sink writes a row of this
// table first in every transaction it commits (`sink` = its name, `txns` counted up), so the
// source capturing that database sees the marker before the transaction's other rows and tags
// them with the sink's name (the other direction's sink then skips them).
export const SINK_MARKER_TABLE = 'sluice_sink_marker';
