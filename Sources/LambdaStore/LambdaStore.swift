@_exported import LambdaStoreColumnar
@_exported import LambdaStoreCore
@_exported import LambdaStoreLog
@_exported import LambdaStoreViews
