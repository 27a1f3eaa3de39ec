import Hummingbird
import HummingbirdCore
import LambdaStore

extension RevenueService {
    /// The router of every endpoint (see ``RevenueService``).
    public func makeRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.get("/health") { _, _ in JSONResponse.make(["status": "ok"] as JSONValue) }
        router.post("/streams/:stream") { request, context in
            let stream = try context.parameters.require("stream")
            var request = request
            let body = try await request.collectBody(upTo: self.configuration.maxBodyBytes)
            return JSONResponse.make(try await self.ingest(stream: stream, body: body))
        }
        router.get("/views/:view") { request, context in
            let view = try context.parameters.require("view")
            return JSONResponse.make(try await self.query(view: view, parameters: request.uri.queryParameters))
        }
        router.get("/drift") { request, _ in
            JSONResponse.make(try await self.drift(view: request.uri.queryParameters["view"].map(String.init)))
        }
        router.post("/admin/batch") { request, _ in
            let p = request.uri.queryParameters
            let mode: BatchMode
            switch p["mode"].map(String.init) ?? "incremental" {
            case "incremental": mode = .incremental
            case "full": mode = .full
            case let other: throw APIError(.badRequest, "parameter 'mode': '\(other)' is neither 'incremental' nor 'full'")
            }
            do throws(LambdaStoreError) {
                let summaries = try await self.runBatches(view: p["view"].map(String.init), mode: mode)
                return JSONResponse.make(["views": .array(summaries.map(\.json))] as JSONValue)
            } catch {
                throw APIError(error)
            }
        }
        router.get("/metrics") { _, _ in
            // `status` refreshes the gauges that are only recorded when it runs (freshness,
            // bytes per tier); a failure there must not hide the other metrics.
            _ = try? await self.store.status()
            return Response(status: .ok, headers: [.contentType: PrometheusExport.contentType],
                            body: ResponseBody(byteBuffer: ByteBuffer(string: PrometheusExport.scrape())))
        }
        return router
    }

    /// Parses a JSON Lines body with the library's record parser (the rules of
    /// `lambdastore ingest`) and appends it as one batch, or nothing when any line is bad.
    /// - Throws: ``APIError``: 400 naming every bad line (`line N: reason`, the reason names
    ///   the field) or for an empty body, 404 for an unknown stream.
    func ingest(stream: String, body: ByteBuffer) async throws -> JSONValue {
        do {
            let (batch, rejected) = try body.withUnsafeReadableBytes { bytes throws(LambdaStoreError) in
                try store.parse(bytes, format: .jsonl, stream: stream)
            }
            if let first = rejected.first {
                let more = rejected.count > 1 ? " (and \(rejected.count - 1) more bad line\(rejected.count == 2 ? "" : "s"); nothing was appended)" : " (nothing was appended)"
                throw APIError(.badRequest, first.description + more, rejected: rejected.prefix(100).map(\.description))
            }
            guard batch.count > 0 else {
                throw APIError(.badRequest, "the body holds no records: send JSON Lines, one \(stream) object per line")
            }
            let range = try await store.append(batch, to: stream, durability: configuration.durability)
            return ([
                "stream": .string(stream), "appended": .int(Int64(range.count)),
                "firstOffset": .int(range.lowerBound), "lastOffset": .int(range.upperBound - 1),
                "endOffset": .int(range.upperBound),
            ] as JSONValue)
        } catch let error as LambdaStoreError {
            throw APIError(error)
        }
    }

    /// Serves `view` with the typed query API; rows keyed by column name, each with its
    /// `source`, plus the `fingerprint` and `horizon` of the served version.
    /// - Throws: ``APIError``: 400 for a bad key or bound, 404 for an unknown view.
    func query(view: String, parameters: FlatDictionary<Substring, Substring>) async throws -> JSONValue {
        do {
            let from = try QueryText.instant(parameters["from"], parameter: "from")
            let to = try QueryText.instant(parameters["to"], parameter: "to")
            let info = try store.viewInfo(view)
            let schema = try store.schema(of: info.definition.stream)
            let groupBy = info.definition.groupBy
            func type(of field: String) -> FieldType {
                schema.fields.first(where: { $0.name == field })?.type ?? .string
            }
            var keys: [String: QueryKeyValue] = [:]
            for text in parameters.getAll("key").map({ String($0) }) {
                let field: String, value: String
                if groupBy.count == 1 {
                    (field, value) = (groupBy[0], text)
                } else if let eq = text.firstIndex(of: "=") {
                    (field, value) = (String(text[..<eq]), String(text[text.index(after: eq)...]))
                } else {
                    throw APIError(.badRequest, "parameter 'key': '\(text)': view '\(view)' groups by \(groupBy.joined(separator: ", ")), give key=FIELD=VALUE")
                }
                guard groupBy.contains(field) else {
                    throw APIError(.badRequest, "parameter 'key': '\(field)' is not a group-by field of view '\(view)' (group-by: \(groupBy.joined(separator: ", ")))")
                }
                keys[field] = try QueryText.keyValue(value, field: field, type: type(of: field))
            }
            let answer = try await store.query(view: view, keys: keys, fromMillis: from, toMillis: to)
            let names = answer.columnNames
            let rows: [JSONValue] = answer.map { row -> JSONValue in
                .object(names.map { JSONMember($0, JSONValue(row[$0] ?? .null)) })
            }
            var members = [
                JSONMember("view", .string(view)),
                JSONMember("fingerprint", .string(answer.fingerprint)),
                JSONMember("horizon", .int(answer.horizon)),
                JSONMember("columns", .array(names.map { JSONValue.string($0) })),
                JSONMember("rows", .array(rows)),
            ]
            if let note = answer.note { members.append(JSONMember("note", .string(note))) }
            return .object(members)
        } catch let error as LambdaStoreError {
            throw APIError(error)
        }
    }

    /// `{"views": [{"view", "reports": [...]}]}`: the persisted drift reports of `view` (or of
    /// every view), newest first, in the JSON form of `lambdastore drift --json`.
    /// - Throws: ``APIError`` 404 for an unknown view.
    func drift(view: String?) async throws -> JSONValue {
        do throws(LambdaStoreError) {
            var out: [JSONValue] = []
            for name in view.map({ [$0] }) ?? viewNames {
                let reports = try await store.driftReports(view: name)
                out.append(["view": .string(name), "reports": .array(reports.map(\.json))] as JSONValue)
            }
            return ["views": .array(out)] as JSONValue
        } catch {
            throw APIError(error)
        }
    }
}
