// What `import LambdaStore` brings into a program: this module's API (Store and the types of
// its calls), the vocabulary it is written in (LambdaStoreCore: schemas, values, batches,
// errors; LambdaStoreViews: view definitions), and from the log module only the types that
// appear in the Store's own calls. The log's and the snapshot files' internals (segments,
// indexes, inspectors, file formats) stay in their modules; the `lambdastore` tool and the
// tests import those explicitly.
@_exported import LambdaStoreCore
@_exported import LambdaStoreViews
@_exported import enum LambdaStoreLog.Durability
@_exported import struct LambdaStoreLog.RecoveryReport
import LambdaStoreColumnar
import LambdaStoreLog
