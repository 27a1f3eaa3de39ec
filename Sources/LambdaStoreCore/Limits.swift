/// Every bound LambdaStore enforces, noun first, each with its reason. format-spec.md §1.4
/// lists the same values: a reader rejects any stored length beyond them before allocating.
public enum Limits {
    /// Largest record batch payload, compressed or not (64 MiB): bounds one allocation on read.
    public static let batchBytesMax = 64 << 20
    /// Most records in one batch (1 Mi): bounds per-batch arrays.
    public static let batchRecordsMax = 1 << 20
    /// Most fields in a schema: keeps headers small.
    public static let fieldsMax = 1024
    /// Longest stream, view, field or aggregate name, in UTF-8 bytes.
    public static let nameBytesMax = 255
    /// Longest string value, in UTF-8 bytes (1 MiB).
    public static let stringBytesMax = 1 << 20
    /// Largest schema, manifest or other metadata file (16 MiB).
    public static let metadataBytesMax = 16 << 20
    /// Largest JSON payload a writer puts in a view's `DRIFT` file (4 MiB): the differing-window
    /// lists of the oldest reports are dropped first to stay under it, their counts kept
    /// (format-spec.md §6.4). Readers accept up to ``metadataBytesMax``.
    public static let driftFileBytesMax = 4 << 20
    /// Largest JSON payload a writer puts in a view's `INCIDENTS` file (4 MiB): the window lists
    /// of the oldest incidents are dropped first to stay under it (format-spec.md §6.5).
    public static let incidentsFileBytesMax = 4 << 20
    /// Most incidents an `INCIDENTS` file keeps (the oldest are dropped first).
    public static let incidentsCountMax = 10_000
    /// Largest snapshot footer (64 MiB).
    public static let footerBytesMax = 64 << 20
    /// Largest column chunk, compressed or not (256 MiB).
    public static let chunkBytesMax = 256 << 20
    /// Default size at which a segment rolls (128 MiB).
    public static let segmentBytesDefault: Int64 = 128 << 20
    /// Longest ingest input line (16 MiB).
    public static let lineBytesMax = 16 << 20
}
