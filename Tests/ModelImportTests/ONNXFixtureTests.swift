import Foundation
import ModelImport
import Testing

/// The onnx wheel's "light" models, whose weights are ConstantOfShape stand-ins.
///
/// Fetch them with
/// `scripts/fetch-import-fixtures.sh` (pip download of onnx 1.23.2 into .build-fixtures/); without them these skip.
@Suite("ONNX light models (scripts/fetch-import-fixtures.sh)", .enabled(if: fixtureExists("onnx-light/light_bvlc_alexnet.onnx")))
struct ONNXFixtureTests {
    struct Expected: Sendable, CustomStringConvertible {
        var file: String
        var parameters: Int
        var buffers: Int
        /// Activations at batch 1: kept for backward, and the largest im2col workspace.
        var savedBytes: Int
        var workspaceBytes: Int
        var description: String { file }
    }

    /// Parameter counts are the published ones; ResNet-50's 53 BatchNorms keep 106 running statistics as buffers.
    ///
    /// torchvision's AlexNet, VGG-19, ResNet-50 and SqueezeNet 1.1 have the same counts.
    /// AlexNet's 5,623,200 saved bytes were added up by hand from its layer shapes: ReLU and LRN outputs
    /// 2 × 1,119,744 + 2 × 692,224 + …, MaxPool indices 519,168 + 294,912 + 73,728, the masks 2 × 4,096 and
    /// the softmax's 4,000; its conv1 im2col is 3·11·11 · 54·54 floats = 4,234,032 bytes.
    static let models = [
        Expected(
            file: "light_bvlc_alexnet.onnx", parameters: 60_965_224, buffers: 0, savedBytes: 5_623_200, workspaceBytes: 4_234_032),
        Expected(
            file: "light_vgg19.onnx", parameters: 143_667_240, buffers: 0, savedBytes: 77_850_528, workspaceBytes: 115_605_504),
        Expected(
            file: "light_resnet50.onnx", parameters: 25_557_032, buffers: 106, savedBytes: 85_523_872, workspaceBytes: 7_375_872),
        Expected(
            file: "light_squeezenet.onnx", parameters: 1_235_496, buffers: 0, savedBytes: 20_212_032, workspaceBytes: 1_742_400),
    ]

    @Test("parameter counts, buffers, and a complete activation estimate at batch 1", arguments: models)
    func model(expected: Expected) throws {
        let model = try ONNXModel.read(path: fixturePath("onnx-light/" + expected.file))
        let weights = try model.weights()
        #expect(weights.parameterCount == expected.parameters)
        #expect(weights.buffers.count == expected.buffers)
        #expect(weights.buffers.allSatisfy { $0.bufferKind == .batchNormStatistics })
        let estimate = try model.estimateActivations(batchSize: 1)
        #expect(estimate.skippedOps.isEmpty)
        #expect(estimate.unresolvedNodes.isEmpty)
        #expect(estimate.isComplete)
        #expect(estimate.inputBytes == 3 * 224 * 224 * 4)
        #expect(estimate.savedBytes == expected.savedBytes)
        #expect(estimate.peakWorkspaceBytes == expected.workspaceBytes)
        #expect(estimate.totalBytes == expected.savedBytes + expected.workspaceBytes)
        #expect(estimate.nodes.last?.outputShapes.first?.reduce(1, *) == 1000)  // [1, 1000], SqueezeNet [1, 1000, 1, 1]
        #expect(model.recognizeMLP() == nil)  // CNNs are estimate-only
    }

    @Test("ResNet-50's running statistics are its BatchNorms' inputs 4 and 5; an unused initializer is left out")
    func resNetBuffers() throws {
        let weights = try ONNXModel.read(path: fixturePath("onnx-light/light_resnet50.onnx")).weights()
        #expect(weights.buffers.elementCount == 53_120)
        #expect(Set(weights.buffers.map { $0.name.hasSuffix("_rm_0") || $0.name.hasSuffix("_riv_0") }) == [true])
        #expect(weights.unusedInitializers.count == 1)
        #expect(weights.constants.allSatisfy { $0.dtype == .int64 })
    }

    @Test("the other light models are estimated completely too")
    func others() throws {
        for name in ["zfnet512", "inception_v1", "inception_v2", "densenet121", "shufflenet"] {
            let model = try ONNXModel.read(path: fixturePath("onnx-light/light_\(name).onnx"))
            let estimate = try model.estimateActivations(batchSize: 1)
            #expect(estimate.isComplete, "\(name): \(estimate.skippedOps) \(estimate.unresolvedNodes.prefix(3))")
            #expect(try model.weights().parameterCount > 1_000_000)
        }
    }
}
