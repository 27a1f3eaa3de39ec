import Hummingbird
import LambdaStore

/// An error answered as `{"error": message}` with its HTTP status; `rejected` lists every bad
/// input line (`line N: reason`) when the error is about a request body.
public struct APIError: HTTPResponseError, CustomStringConvertible {
    /// The HTTP status.
    public var status: HTTPResponse.Status
    /// The one-line reason.
    public var message: String
    /// Every rejected line of a JSON Lines body, empty otherwise.
    public var rejected: [String]

    /// An error with a status, a reason and the rejected lines of a body.
    public init(_ status: HTTPResponse.Status, _ message: String, rejected: [String] = []) {
        self.status = status
        self.message = message
        self.rejected = rejected
    }

    /// The HTTP form of a store error: `not found` → 404, `invalid argument`, `schema` and
    /// `view` → 400, `locked` → 409, `limit exceeded` → 413, others → 500.
    public init(_ error: LambdaStoreError) {
        let status: HTTPResponse.Status = switch error.code {
        case .notFound: .notFound
        case .invalidArgument, .schema, .view: .badRequest
        case .locked: .conflict
        case .limitExceeded: .contentTooLarge
        default: .internalServerError
        }
        self.init(status, error.description)
    }

    /// `status: message`.
    public var description: String { "\(status.code): \(message)" }

    /// The JSON body: `{"error": message}`, plus `"rejected": [...]` when lines were rejected.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var members = [JSONMember("error", .string(message))]
        if !rejected.isEmpty { members.append(JSONMember("rejected", .array(rejected.map { .string($0) }))) }
        return JSONResponse.make(.object(members), status: status)
    }
}

/// JSON responses built from LambdaStore's `JSONValue` (the same serializer as the
/// `lambdastore` command's `--json` output).
public enum JSONResponse {
    /// `value` as compact JSON with `Content-Type: application/json` and a final newline.
    public static func make(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: value.serialized() + "\n")))
    }
}

/// Parsing of query-string values.
public enum QueryText {
    /// An instant given as integer epoch milliseconds or an ISO-8601 timestamp with an
    /// explicit zone (`2026-01-01T00:00:00Z`, `…+02:00`; in a URL, write `+` as `%2B`), as
    /// epoch milliseconds.
    /// - Throws: ``APIError`` (400) naming the parameter.
    public static func instant(_ text: Substring?, parameter: String) throws -> Int64? {
        guard let text, !text.isEmpty else { return nil }
        let s = String(text)
        if let ms = Int64(s) { return ms }
        if let ms = Timestamp.parseISO8601(s) { return ms }
        throw APIError(.badRequest, "parameter '\(parameter)': '\(s)' is neither epoch milliseconds nor an ISO-8601 timestamp with a zone")
    }

    /// The typed key value of `text` for the group-by field `name` of type `type`.
    /// - Throws: ``APIError`` (400) naming the field when `text` is not a value of `type`.
    public static func keyValue(_ text: String, field name: String, type: FieldType) throws -> QueryKeyValue {
        func bad() -> APIError { APIError(.badRequest, "key '\(name)': '\(text)' is not a \(type)") }
        switch type {
        case .string: return QueryKeyValue(text)
        case .int64:
            guard let x = Int64(text) else { throw bad() }
            return QueryKeyValue(x)
        case .float64:
            guard let x = Double(text) else { throw bad() }
            return QueryKeyValue(x)
        case .bool:
            guard let b = Bool(text) else { throw bad() }
            return QueryKeyValue(b)
        case .timestamp:
            guard let ms = try instant(Substring(text), parameter: "key") else { throw bad() }
            return QueryKeyValue(.timestamp(ms))
        }
    }
}
