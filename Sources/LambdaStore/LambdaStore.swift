@_exported import LambdaStoreCore
