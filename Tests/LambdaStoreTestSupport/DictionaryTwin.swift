import LambdaStoreCore

/// Dictionary-encoded twins of test data: the same values, every string column in the
/// dictionary form the log reader hands out (format-spec.md §2.3.1).
public enum DictionaryTwin {
    /// `batch` with every plain string column dictionary-encoded: entries in reverse order of
    /// first appearance plus one entry no row uses, so no consumer can get away with reading
    /// codes as row numbers or entries as rows.
    public static func batch(_ batch: ColumnBatch) -> ColumnBatch {
        ColumnBatch(schemaVersion: batch.schemaVersion, columns: batch.columns.map(column))
    }

    /// One column in dictionary form (other types and empty columns unchanged).
    public static func column(_ c: Column) -> Column {
        guard c.type == .string, c.dictionary == nil, c.count > 0 else { return c }
        var order: [String] = []
        var seen: [String: Int] = [:]
        for i in 0..<c.count where !c.isNull(i) {
            let s = c.string(at: i)
            if seen[s] == nil { seen[s] = order.count; order.append(s) }
        }
        let entriesInOrder = ["\u{1}unused entry"] + order.reversed()
        var entries = Column(type: .string)
        for s in entriesInOrder { entries.append(string: s) }
        let position = Dictionary(uniqueKeysWithValues: entriesInOrder.enumerated().map { ($0.element, $0.offset) })
        let codes: [UInt32] = (0..<c.count).map { i in c.isNull(i) ? 0 : UInt32(position[c.string(at: i)]!) }
        return Column(count: c.count, nullCount: c.nullCount, validity: c.validity, dictionary: ColumnDictionary(entries: entries, codes: codes))
    }
}
