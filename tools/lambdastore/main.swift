import LambdaStore
print("lambdastore")
