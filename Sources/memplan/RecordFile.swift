// Result files (--record, --output): `-` is standard output; a regular file is replaced atomically; a symbolic
// link updates the file it points to; /dev/null, terminals and /dev/stdout are written through; other special
// files are refused (FileAccess.OutputFile).

import FileAccess

#if canImport(Glibc)
    import Glibc
#endif

/// Writes result files, mapping their errors to one line and exit status 2.
enum RecordFile {
    /// Fails early (before any training) when the path cannot be written: a missing or read-only directory, a
    /// directory, a FIFO or device.
    static func checkWritable(_ path: String) throws {
        do {
            _ = try OutputFile.target(for: path)
        } catch {
            throw CLIFailure.badInput(error.description)
        }
    }

    static func write(_ text: String, to path: String) throws {
        do {
            try OutputFile.write(text, to: path)
        } catch {
            throw CLIFailure.badInput(error.description)
        }
    }

    /// Whether `path` is standard output (`-`, `/dev/stdout`), where "Wrote …" would mix with the document.
    static func isStandardOutput(_ path: String) -> Bool {
        switch try? OutputFile.target(for: path) {
        case .standardOutput, .descriptor(1): true
        default: false
        }
    }
}

/// Where documents go when no --output is given.
enum DefaultOutput {
    /// The folder default outputs go to, in the current directory.
    static let reportsDirectory = "reports"

    /// `reports/<name>`, creating `reports/` in the current directory when it is missing.
    static func reportsPath(_ name: String) throws -> String {
        var status = stat()
        if stat(reportsDirectory, &status) != 0 {
            guard mkdir(reportsDirectory, 0o755) == 0 || errno == EEXIST else {
                throw CLIFailure.badInput(
                    "cannot create \(reportsDirectory)/ for the default output (\(String(cString: strerror(errno)))); give --output PATH"
                )
            }
        } else if status.st_mode & S_IFMT != S_IFDIR {
            throw CLIFailure.badInput("\(reportsDirectory) is not a directory; give --output PATH")
        }
        return PathText.appending(name, to: reportsDirectory)
    }
}
