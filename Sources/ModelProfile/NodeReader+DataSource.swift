// A profile's data source read from its node: fashion-mnist, polynomial, synthetic or csv.

import FileAccess
import Foundation
import Yams

extension NodeReader {
    func resolvePath(_ path: String) -> String {
        PathText.appending(path, to: baseDirectory)
    }

    func classList(_ node: Node, field: String) throws -> [Int] {
        let items = try list(node, field: field)
        guard !items.isEmpty else {
            throw ProfileError.invalidValue(location(node), field: field, value: "[]", reason: "list at least one class (0–9)")
        }
        return try items.map { item throws -> Int in
            let value = try count(item, field: field, minimum: 0)
            guard value <= 9 else {
                throw ProfileError.invalidValue(
                    location(item), field: field, value: "\(value)", reason: "Fashion-MNIST classes are 0–9")
            }
            return value
        }
    }

    func dataSource(_ node: Node, inputWidth: Int, outputWidth: Int, loss: Loss) throws -> DataSource {
        let sources = ["fashion-mnist", "polynomial", "synthetic", "csv"]
        let preliminary = try section(node, named: "data", allowed: Array(Set(ProfileParser.dataKeysBySource.values.joined())))
        let sourceNode = try preliminary.require("source", hint: "name the data source: \(sources.joined(separator: ", "))")
        let source = try named(sourceNode, field: "data source", valid: sources) { text in
            let lowered = text.lowercased()
            return lowered == "fashion_mnist" || lowered == "fashionmnist"
                ? "fashion-mnist" : (sources.contains(lowered) ? lowered : nil)
        }
        let data = try section(node, named: "data (\(source))", allowed: ProfileParser.dataKeysBySource[source]!)
        func countOr(_ key: String, _ fallback: Int, minimum: Int) throws -> Int {
            try data[key].map { try count($0, field: key, minimum: minimum) } ?? fallback
        }
        func noise() throws -> Double? {
            guard let noiseNode = data["noise"] else { return nil }
            let value = try real(noiseNode, field: "noise")
            guard value >= 0 else {
                throw ProfileError.invalidValue(
                    location(noiseNode), field: "noise", value: "\(value)",
                    reason: "is a standard deviation; must not be negative")
            }
            return value
        }
        switch source {
        case "fashion-mnist":
            let path = try data["path"].map { resolvePath(try string($0, field: "path")) } ?? DataSource.defaultFashionMNISTPath
            let labelsText = try data["labels"].map { try string($0, field: "labels").lowercased() } ?? "classes"
            let labels: LabelMapping
            switch labelsText {
            case "classes", "one-hot":
                labels = .classes
            case "binary":
                let positive = try data.require("positive", hint: "list the classes that count as 1, e.g. positive: [5, 7, 9]")
                labels = .binary(positive: try classList(positive, field: "positive"))
            case "groups":
                let groupsNode = try data.require(
                    "groups", hint: "list one class group per output, e.g. groups: [[0, 2], [5, 7, 9]]")
                labels = .groups(
                    try list(groupsNode, field: "groups").map { group throws in try classList(group, field: "groups") })
            default:
                let valid = ["classes", "binary", "groups"]
                throw ProfileError.unknownName(
                    location(data["labels"]!), field: "labels", value: labelsText, valid: valid,
                    suggestion: Suggestion.closest(to: labelsText, in: valid))
            }
            guard inputWidth == 784 else {
                throw ProfileError.inconsistent(
                    location(node), "fashion-mnist images have 784 features (28×28), but the input has \(inputWidth)")
            }
            guard outputWidth == labels.targetCount else {
                throw ProfileError.inconsistent(
                    location(node),
                    "labels '\(labelsText)' give \(labels.targetCount) target(s) per image, but the output layer has \(outputWidth) unit(s)"
                )
            }
            return .fashionMNIST(path: path, labels: labels)
        case "polynomial":
            let degree = try countOr("degree", inputWidth, minimum: 0)
            guard degree == inputWidth else {
                throw ProfileError.inconsistent(
                    location(node),
                    "a degree-\(degree) polynomial has \(degree) features (x … x^\(degree)), but the input has \(inputWidth)")
            }
            guard outputWidth == 1 else {
                throw ProfileError.inconsistent(
                    location(node), "polynomial data has one target, but the output layer has \(outputWidth) units")
            }
            let functionText = try data["function"].map { try string($0, field: "function").lowercased() } ?? "sine"
            guard let target = PolynomialTarget(rawValue: functionText) else {
                let valid = PolynomialTarget.allCases.map(\.rawValue)
                throw ProfileError.unknownName(
                    location(data["function"]!), field: "function", value: functionText, valid: valid,
                    suggestion: Suggestion.closest(to: functionText, in: valid))
            }
            return .polynomial(
                degree: degree, count: try countOr("count", 30, minimum: 1),
                testCount: try countOr("test_count", 200, minimum: 1),
                noise: try noise() ?? 0.3, target: target, seed: UInt64(try countOr("seed", 1, minimum: 0)))
        case "synthetic":
            let defaultTask: SyntheticTask
            switch loss {
            case .l1, .l2: defaultTask = .regression
            case .softmaxCrossEntropy: defaultTask = .classes
            case .binaryCrossEntropy, .hinge: defaultTask = outputWidth > 1 ? .multilabel : .binary
            }
            let task =
                try data["task"].map { taskNode throws -> SyntheticTask in
                    try named(
                        taskNode, field: "task", valid: SyntheticTask.allCases.map(\.rawValue),
                        parse: SyntheticTask.init(rawValue:))
                } ?? defaultTask
            if task == .classes || task == .blobs, outputWidth < 2 {
                throw ProfileError.inconsistent(
                    location(node), "task '\(task.rawValue)' needs at least 2 output units, the output layer has \(outputWidth)")
            }
            return .synthetic(
                task: task, count: try countOr("count", 1000, minimum: 1), testCount: try countOr("test_count", 200, minimum: 1),
                noise: try noise() ?? 0.1, seed: UInt64(try countOr("seed", 7, minimum: 0)))
        default:  // csv
            let path = resolvePath(try string(try data.require("path", hint: "give the CSV file's path"), field: "path"))
            let targets = try countOr("targets", outputWidth, minimum: 1)
            guard targets == outputWidth else {
                throw ProfileError.inconsistent(
                    location(node), "the CSV has \(targets) target column(s), but the output layer has \(outputWidth) unit(s)")
            }
            let header = try data["header"].map { try bool($0, field: "header") } ?? false
            let testFraction = try fraction(data["test_fraction"], field: "test_fraction", fallback: 0.2)
            return .csv(path: path, targetColumns: targets, hasHeader: header, testFraction: testFraction)
        }
    }
}
