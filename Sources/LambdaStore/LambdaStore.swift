// What `import LambdaStore` brings into a program: this module's API (Store and the types of
// its calls) and, by scoped re-exports, only the vocabulary those calls are written in:
// schemas, values, batches and errors (LambdaStoreCore), view definitions (LambdaStoreViews),
// the file-system extension point (a VFS, as SQLite's), and from the log module the types
// that appear in the Store's own calls. Everything else those modules declare public (byte
// readers, checksums, codecs' internals, the aggregation table, the filter kernels, segments,
// indexes, snapshot and Parquet file formats) is there for the other modules of this package
// and stays out of a user's namespace; the `lambdastore` tool, the tests and the benchmarks
// import those modules explicitly. `tools/public-surface.py` checks this list and the
// module's own public symbols against `api/LambdaStore.txt`.
@_exported import struct LambdaStoreCore.Schema
@_exported import struct LambdaStoreCore.Field
@_exported import enum LambdaStoreCore.FieldType
@_exported import enum LambdaStoreCore.Value
@_exported import struct LambdaStoreCore.ColumnBatch
@_exported import struct LambdaStoreCore.Column
@_exported import struct LambdaStoreCore.LambdaStoreError
@_exported import typealias LambdaStoreCore.EpochMillis
@_exported import enum LambdaStoreCore.InputFormat
@_exported import enum LambdaStoreCore.Codec
@_exported import enum LambdaStoreCore.JSONValue
@_exported import struct LambdaStoreCore.JSONMember
@_exported import protocol LambdaStoreCore.FileSystem
@_exported import protocol LambdaStoreCore.FileHandle
@_exported import protocol LambdaStoreCore.FileLock
@_exported import enum LambdaStoreCore.OpenMode
@_exported import struct LambdaStoreCore.PosixFileSystem
@_exported import struct LambdaStoreCore.RejectedLine
@_exported import enum LambdaStoreCore.Timestamp
@_exported import struct LambdaStoreViews.ViewDefinition
@_exported import enum LambdaStoreViews.WindowSpec
@_exported import enum LambdaStoreViews.WindowKind
@_exported import struct LambdaStoreViews.AggregateSpec
@_exported import enum LambdaStoreViews.AggregateFunction
@_exported import struct LambdaStoreViews.DriftThresholds
@_exported import enum LambdaStoreViews.ViewDuration
@_exported import enum LambdaStoreLog.Durability
@_exported import struct LambdaStoreLog.RecoveryReport
@_exported import struct LambdaStoreLog.LogOptions
@_exported import struct LambdaStoreLog.LogRepairAction
@_exported import enum LambdaStoreLog.SchemaApplyResult
import LambdaStoreCore
import LambdaStoreViews
import LambdaStoreColumnar
import LambdaStoreLog
