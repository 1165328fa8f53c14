// Everything that can stop a dataset from loading, each with the file, the numbers and what to do about it.

import FileAccess

/// Why a profile's data cannot be read.
public enum DataError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A data file is not there. `package` names the Debian package that installs it, if any.
    case datasetMissing(path: String, package: String?)
    /// A data file exists but cannot be used: wrong magic number, wrong dimensions, truncated.
    case datasetCorrupt(path: String, reason: String)
    /// A CSV line that is not a row of numbers of the right length.
    case csvMalformed(path: String, line: Int, reason: String)
    /// The data's shape does not match the model's input or output layer.
    case datasetMismatch(path: String, reason: String)
    /// Too few samples to train on.
    case notEnoughSamples(reason: String)
    /// The profile names no data source.
    case noDataSource(profile: String)

    public var description: String {
        switch self {
        case .datasetMissing(let path, let package):
            var text = "\(path): no such data file"
            if let package {
                text += "; install it with the Debian package \(package) (apt-get install \(package)), or pass --data DIRECTORY"
            }
            return text
        case .datasetCorrupt(let path, let reason):
            return "\(path): \(reason)"
        case .csvMalformed(let path, let line, let reason):
            return "\(path):\(line): \(reason)"
        case .datasetMismatch(let path, let reason):
            return "\(path): \(reason)"
        case .notEnoughSamples(let reason):
            return reason
        case .noDataSource(let profile):
            return
                "\(profile) names no data source; add a data: section (fashion-mnist, polynomial, synthetic or csv) to train it"
        }
    }

    /// Missing data files are a resource the machine lacks (exit 3) when a package would provide them.
    public var isMissingResource: Bool {
        if case .datasetMissing(_, let package) = self { return package != nil }
        return false
    }
}

extension DataError {
    /// A data file that cannot be opened: missing, not a regular file (a FIFO, a device, a directory), unreadable.
    init(_ error: InputFileError) {
        switch error {
        case .missing(let path): self = .datasetMissing(path: path, package: nil)
        case .notRegular(let path, _): self = .datasetCorrupt(path: path, reason: error.reason + "; give a regular file")
        case .unreadable(let path, _), .tooLarge(let path, _, _): self = .datasetCorrupt(path: path, reason: error.reason)
        }
    }
}
