import ArenaPlanner
import Foundation
import MLPTrainer
import MemoryBudget
import ModelProfile
import NUMAArena
import TestSupport
import Testing
@testable import TrainingRun

/// The plan's arena in whole pages: what the kernel must map for it.
func pageRounded(_ bytes: Int, pageSize: Int) -> Int { max(1, (bytes + pageSize - 1) / pageSize) * pageSize }

@Suite("Training sessions", .serialized)
struct TrainingSessionTests {
    func load(_ name: String) throws -> Model {
        guard case .exact(let model) = try ProfileParser.load(path: profilePath(name)) else { throw ModelError.noLayers }
        return model
    }

    static let smallProfiles = ["perceptron-3-4-2", "smallest-perceptron", "second-smallest-perceptron", "polynomial-9"]
    static let fashionProfiles = ["logistic", "softmax-fashion", "multilabel", "fashion-mnist-mlp"]

    @Test("small shipped profiles train with their loss falling", arguments: smallProfiles)
    func smallProfilesLearn(name: String) throws {
        let result = try TrainingSession.run(try load(name))
        let first = try #require(result.epochs.first?.trainLoss)
        let last = try #require(result.epochs.last?.trainLoss)
        #expect(last < first * 0.5, "\(name): train loss \(first) → \(last)")
        let measured = result.measurement
        #expect(measured.arenaMappedBytes == pageRounded(result.plan.arenaByteCount, pageSize: measured.pageSize))
        #expect(measured.censusAtEnd.notResident == 0)
    }

    @Test("Fashion-MNIST profiles train with their loss falling", .enabled(if: fashionMNISTInstalled), arguments: fashionProfiles)
    func fashionProfilesLearn(name: String) throws {
        var model = try load(name)
        model.epochs = 2
        let result = try TrainingSession.run(model)
        #expect(result.epochs[1].trainLoss < result.epochs[0].trainLoss, "\(name): \(result.epochs.map(\.trainLoss))")
        let accuracy = try #require(result.testAccuracy)
        #expect(accuracy > 0.75, "\(name): test accuracy \(accuracy)")
    }

    /// (Peak RSS is per process and other tests run in parallel here; the CLI tests check it in a process of its own.)
    @Test("the arena is exactly the plan, every page resident on the planned node", .enabled(if: fashionMNISTInstalled))
    func measurements() throws {
        var model = try load("fashion-mnist-mlp")
        model.epochs = 1
        var options = TrainingOptions()
        options.placement = .node(0)
        let result = try TrainingSession.run(model, options: options)
        let measured = result.measurement
        #expect(measured.arenaMappedBytes == pageRounded(result.plan.arenaByteCount, pageSize: measured.pageSize))
        let census = measured.censusAfterFirstStep
        #expect(census.notResident == 0)
        #expect(census.pagesByNode[0] == census.pageCount, "pages by node after the first step: \(census.pagesByNode)")
        #expect(result.plannedNode == 0)
        #expect(measured.peakRSSGrowthBytes >= result.plan.arenaByteCount * 9 / 10)
        // The data buffers hold the whole dataset, loaded once: pixels as bytes, one-hot targets at fp32.
        #expect(result.plan.bytes(of: .data) == (60_000 + 10_000) * (784 * 1 + 10 * 4) + 60_000 * 4)
    }

    @Test("a deep sigmoid MLP (20 hidden layers of 64) stays at chance without normalization and learns with norm: layer")
    func layerNormLearns() throws {
        var normalized = try load("deep-sigmoid")
        #expect(normalized.layers.dropLast().allSatisfy { $0.normalization == .layer })
        // A smaller run than the profile's (1,500 samples, 2 epochs) to keep the debug-build test short.
        normalized.data = .synthetic(task: .blobs, count: 1_500, testCount: 500, noise: 2.0, seed: 5)
        normalized.epochs = 2
        var plain = normalized
        for index in plain.layers.indices { plain.layers[index].normalization = nil }
        let majority = 0.30  // 4 balanced classes: the majority class is about 25% of the test set
        let without = try #require(try TrainingSession.run(plain).testAccuracy)
        let with = try #require(try TrainingSession.run(normalized).testAccuracy)
        #expect(without < majority, "without norm: \(without)")
        #expect(with > 0.75, "with norm: \(with)")
    }

    @Test("validation split and k-fold hold out the right counts")
    func splits() throws {
        var model = try syntheticModel(widths: [3, 4, 1], loss: .l2, count: 100)
        model.split = Split(validationFraction: 0.2)
        let result = try TrainingSession.run(model)
        #expect(result.trainCount == 80)
        #expect(result.validationCount == 20)
        #expect(result.epochs[0].validationLoss != nil)
        var options = TrainingOptions()
        options.crossValidationFold = (2, 3)
        let fold = try TrainingSession.run(model, options: options)
        #expect(fold.validationCount == 34)  // fold 2 of 3: samples 66 ..< 100 of the shuffled order
        #expect(fold.trainCount == 66)
    }

    @Test("k-fold cross-validation picks a middle degree for noisy sine data")
    func selection() throws {
        let model = try load("polynomial-9")
        let results = try ModelSelection.crossValidate(model, degrees: [0, 1, 6], folds: 5)
        #expect(results.map(\.degree) == [0, 1, 6])
        let best = try #require(results.min { $0.validationLoss < $1.validationLoss })
        #expect(best.degree == 6, "degrees 0 and 1 underfit: \(results.map(\.validationLoss))")
        #expect(results[0].trainLoss > results[1].trainLoss)
        #expect(results[1].trainLoss > results[2].trainLoss)
    }

    @Test("a diverging run stops, naming the epoch and step and suggesting a smaller learning rate")
    func divergence() throws {
        let model = try syntheticModel(
            widths: [3, 8, 2], loss: .l2, precision: .single, optimizer: Optimizer(kind: .sgd, learningRate: 1e12))
        do {
            _ = try TrainingSession.run(model)
            Issue.record("a learning rate of 1e12 trained without diverging")
        } catch let error as RunError {
            guard case .diverged(let epoch, let step, _, let learningRate) = error else {
                Issue.record("wrong error \(error)")
                return
            }
            #expect(epoch == 1)
            #expect(step >= 1)
            #expect(learningRate == 1e12)
            #expect(error.description.contains("try --learning-rate 1e+11"))
        }
    }

    @Test("a node that does not exist and an arena bigger than free memory are refused")
    func resources() throws {
        let model = try syntheticModel(widths: [3, 4, 1], loss: .l2)
        var options = TrainingOptions()
        options.placement = .node(42)
        #expect(throws: NUMAError.self) { try TrainingSession.run(model, options: options) }
        var huge = try syntheticModel(widths: [3, 4, 1], loss: .l2, count: 1)
        huge.data = .synthetic(task: .regression, count: 1 << 40, testCount: 1, noise: 0, seed: 1)
        do {
            _ = try TrainingSession.run(huge)
            Issue.record("a 24 TiB dataset was allocated")
        } catch let error as NUMAError {
            guard case .insufficientMemory = error else {
                Issue.record("wrong error \(error)")
                return
            }
        }
    }

    @Test("an arena the kernel maps smaller than planned is refused before any step (fault injection)")
    func shortArena() throws {
        let model = try syntheticModel(widths: [3, 4, 1], loss: .l2, count: 5_000)
        var options = TrainingOptions()
        options.arenaShortfallPages = 1
        do {
            _ = try TrainingSession.run(model, options: options)
            Issue.record("a run went ahead in an arena one page short of its plan")
        } catch let error as RunError {
            guard case .arenaSmallerThanPlanned(let mapped, let planned) = error else {
                Issue.record("wrong error \(error)")
                return
            }
            #expect(mapped < planned)
        }
        // The same run without the fault: the kernel's mapping is the plan in whole pages.
        let result = try TrainingSession.run(model)
        #expect(
            result.measurement.arenaMappedBytes == pageRounded(result.plan.arenaByteCount, pageSize: result.measurement.pageSize))
    }

    @Test("half and bfloat16 cannot be trained")
    func precision() throws {
        let model = try syntheticModel(widths: [3, 1], loss: .l2, precision: .half)
        #expect(throws: TrainerError.unsupportedPrecision("half")) { try TrainingSession.run(model) }
    }

    @Test("a stop request ends the run after the current step, marked partial")
    func stop() throws {
        var model = try syntheticModel(widths: [3, 4, 1], loss: .l2, count: 100)
        model.epochs = 5
        var options = TrainingOptions()
        nonisolated(unsafe) var steps = 0
        options.shouldStop = {
            steps += 1
            return steps == 7
        }
        let result = try TrainingSession.run(model, options: options)
        #expect(result.isPartial)
        #expect(result.epochs.count == 1)
    }
}
