// The idiomatic Swift side of Insikt's core: the store key from the Keychain,
// opening a store, listeners as AsyncStream, and the report written to a folder.
// Everything else is the generated API (Generated/Insikt.swift), used as it is:
// its long calls are `async throws` already and can be cancelled with their Task.
import Foundation
import Security

/// The store's 32-byte key, kept in the Keychain: random bytes made on first start,
/// readable only on this device after its first unlock, never in a backup.
public enum StoreKeychain {
    public enum Failure: Error { case keychain(OSStatus) }

    /// The key for `service`, made on first use.
    public static func load(service: String = "se.insikt.store") throws -> Data {
        let query: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: "store-key",
            kSecReturnData as String: true,
        ]
        var found: CFTypeRef?
        let status = SecItemCopyMatching(query as CFDictionary, &found)
        if status == errSecSuccess, let data = found as? Data, data.count == 32 {
            return data
        }
        guard status == errSecItemNotFound else { throw Failure.keychain(status) }
        var key = Data(count: 32)
        let made = key.withUnsafeMutableBytes { SecRandomCopyBytes(kSecRandomDefault, 32, $0.baseAddress!) }
        guard made == errSecSuccess else { throw Failure.keychain(made) }
        let add: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: "store-key",
            kSecAttrAccessible as String: kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly,
            kSecValueData as String: key,
        ]
        let added = SecItemAdd(add as CFDictionary, nil)
        guard added == errSecSuccess else { throw Failure.keychain(added) }
        return key
    }
}

public extension Store {
    /// Opens (or creates) the store in `directory` with the key from the Keychain.
    /// The store is closed when its last reference goes: that releases its files and
    /// lock at once.
    static func open(directory: URL, keychainService: String = "se.insikt.store") throws -> Store {
        var key = try StoreKeychain.load(service: keychainService)
        defer { key.resetBytes(in: 0..<key.count) }
        return try Store.open(dir: directory.path, key: key)
    }

    /// A project's changes, after local writes and after sync, while iterated.
    func changes(ofProject project: ProjectId) -> AsyncStream<[Change]> {
        stream { try self.observeProject(project: project, listener: $0) }
    }

    /// One session's changes, while iterated.
    func changes(ofSession session: SessionId) -> AsyncStream<[Change]> {
        stream { try self.observeSession(session: session, listener: $0) }
    }

    private func stream(_ register: @escaping (ChangeListener) throws -> ListenerHandle) -> AsyncStream<[Change]> {
        AsyncStream { continuation in
            let listener = StreamListener(continuation)
            guard let handle = try? register(listener) else {
                continuation.finish()
                return
            }
            // The listener stops when the iteration ends.
            continuation.onTermination = { _ in try? handle.stop() }
        }
    }

    /// Writes the project's report into `folder`: report.md and each photo or
    /// recording consent allows, named by its attachment id.
    @discardableResult
    func export(project: ProjectId, lang: Lang, to folder: URL) async throws -> Report {
        let report = try await exportReport(project: project, lang: lang)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data(report.markdown.utf8).write(to: folder.appendingPathComponent("report.md"))
        for media in report.media {
            let ext = media.attachment.mime.contains("jpeg") ? "jpg" : "m4a"
            try media.bytes.write(to: folder.appendingPathComponent("\(media.attachment.id).\(ext)"))
        }
        return report
    }
}

private final class StreamListener: ChangeListener {
    private let continuation: AsyncStream<[Change]>.Continuation

    init(_ continuation: AsyncStream<[Change]>.Continuation) {
        self.continuation = continuation
    }

    func onChange(changes: [Change]) {
        continuation.yield(changes)
    }
}
