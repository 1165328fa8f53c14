// libFuzzer target: arbitrary bytes as an ONNX model, then everything memplan computes from one: weights,
// the activation estimate at two batch sizes, the MLP recognizer. Besides crashes it checks that every
// error's message is one printable line.
// Built by fuzz/run.sh with -sanitize=fuzzer,address -DFUZZING; a plain build replays the files given as arguments.

import FuzzSupport
import ModelImport

/// Traps unless `error`'s message is one line of printable characters.
func checkMessage(_ error: ImportError) {
    let text = error.description
    precondition(
        !text.unicodeScalars.contains {
            $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || $0 == "\u{2028}" || $0 == "\u{2029}"
        },
        "a message with a control character: \(text.debugDescription)")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    do {
        let model = try ONNXModel.parse(UnsafeRawBufferPointer(start: data, count: size), path: "fuzz.onnx")
        let weights = try model.weights()
        _ = (weights.parameterCount, weights.buffers.byteCount, weights.constants.count)
        for batch in [1, 7] {
            let estimate = try model.estimateActivations(batchSize: batch, dimensions: ["sequence": 3])
            precondition(estimate.totalBytes >= estimate.savedBytes, "the total is below what is saved")
            _ = (estimate.isComplete, estimate.skippedOps, estimate.outputBytes)
        }
        if let mlp = model.recognizeMLP() {
            precondition(
                mlp.widths.count == mlp.activations.count + 1 && mlp.biases.count == mlp.activations.count,
                "an MLP's lists disagree")
        }
    } catch {
        checkMessage(error)
    }
    return 0
}

runFuzzer { data, size in fuzzOne(data, size) }
