import LambdaStore

/// The stream and view the service sets up: the `orders` schema and the `revenue_hourly` view
/// exactly as DESIGN.md's command contract spells them (schema file and view file).
public enum OrdersModel {
    /// The stream name.
    public static let stream = "orders"
    /// The view name.
    public static let revenueHourly = "revenue_hourly"

    /// `orders`: `event_ts` (timestamp, the event time), `merchant_id`, `status`,
    /// `amount_cents` (int64) and `channel` (nullable string, default `web`).
    public static var schema: Schema {
        Schema(stream: stream, eventTime: "event_ts", fields: [
            Field(name: "event_ts", type: .timestamp),
            Field(name: "merchant_id", type: .string),
            Field(name: "status", type: .string),
            Field(name: "amount_cents", type: .int64),
            Field(name: "channel", type: .string, nullable: true, defaultValue: .string("web")),
        ])
    }

    /// `revenue_hourly`: completed orders, per merchant and hour (tumbling 1 h on `event_ts`,
    /// 10 minutes of allowed lateness), `revenue = sum(amount_cents)` and `orders = count`.
    /// - Throws: what `ViewDefinition`'s validation throws (never, for this fixed form).
    public static func revenueHourlyView() throws(LambdaStoreError) -> ViewDefinition {
        try ViewDefinition(
            name: revenueHourly, stream: stream, filter: "status = 'completed'", groupBy: ["merchant_id"],
            window: .tumbling(field: "event_ts", size: .hours(1)), allowedLateness: .minutes(10),
            aggregates: [.sum("amount_cents", as: "revenue"), .count(as: "orders")])
    }

    /// Applies the schema and creates the view; both are no-ops when the store already has
    /// them (DESIGN.md: an identical schema or view applied again changes nothing).
    /// - Throws: the store's error when the store holds an incompatible schema or view.
    public static func prepare(_ store: Store) async throws(LambdaStoreError) {
        _ = try await store.applySchema(schema)
        _ = try await store.createView(try revenueHourlyView())
    }
}
