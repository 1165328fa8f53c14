// What both readers produce: tensors with a dtype, a shape and their sizes, and the rule that tells the
// model's parameters from its buffers (state a framework saves with the weights but never trains).

/// An element type, as safetensors and ONNX name them.
public enum TensorDType: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case float64, float32, float16, bfloat16
    /// 8-bit floats: safetensors' F8_E4M3 / F8_E5M2 are ONNX's FLOAT8E4M3FN / FLOAT8E5M2.
    case float8E4M3FN, float8E5M2, float8E4M3FNUZ, float8E5M2FNUZ, float8E8M0
    case float4E2M1
    case int64, int32, int16, int8, int4, int2
    case uint64, uint32, uint16, uint8, uint4, uint2
    case bool
    case complex64, complex128
    /// ONNX strings: variable length, counted as 0 bytes.
    case string

    /// Bits one element takes; sub-byte types are packed (4-bit: two elements a byte).
    public var bitsPerElement: Int {
        switch self {
        case .float64, .int64, .uint64, .complex64: 64
        case .complex128: 128
        case .float32, .int32, .uint32: 32
        case .float16, .bfloat16, .int16, .uint16: 16
        case .float8E4M3FN, .float8E5M2, .float8E4M3FNUZ, .float8E5M2FNUZ, .float8E8M0, .int8, .uint8, .bool: 8
        case .float4E2M1, .int4, .uint4: 4
        case .int2, .uint2: 2
        case .string: 0
        }
    }

    /// Integer and boolean types: indices, masks, counters — never trained.
    public var isInteger: Bool {
        switch self {
        case .int64, .int32, .int16, .int8, .int4, .int2, .uint64, .uint32, .uint16, .uint8, .uint4, .uint2, .bool: true
        default: false
        }
    }

    /// Bytes `elements` elements take, rounded up to whole bytes; nil on overflow.
    public func byteCount(elements: Int) -> Int? {
        let (bits, overflow) = elements.multipliedReportingOverflow(by: bitsPerElement)
        return overflow ? nil : bits / 8 + (bits % 8 == 0 ? 0 : 1)
    }

    public var description: String { rawValue }

    // MARK: safetensors names

    /// The safetensors spelling (`F32`, `BF16`, `F8_E4M3`…), for the types safetensors has.
    public var safetensorsName: String? { Self.bySafetensorsName.first { $0.value == self }?.key }

    /// The dtype a safetensors header names, or nil.
    public init?(safetensorsName name: String) {
        guard let dtype = Self.bySafetensorsName[name] else { return nil }
        self = dtype
    }

    /// Every dtype name a safetensors header may use, widest first.
    public static let safetensorsNames = [
        "F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2", "I64", "I32", "I16", "I8", "U64", "U32", "U16", "U8", "BOOL",
    ]

    private static let bySafetensorsName: [String: TensorDType] = [
        "F64": .float64, "F32": .float32, "F16": .float16, "BF16": .bfloat16, "F8_E4M3": .float8E4M3FN, "F8_E5M2": .float8E5M2,
        "I64": .int64, "I32": .int32, "I16": .int16, "I8": .int8, "U64": .uint64, "U32": .uint32, "U16": .uint16, "U8": .uint8,
        "BOOL": .bool,
    ]

    // MARK: ONNX codes

    /// The dtype of ONNX's `TensorProto.DataType` code, or nil (0 = UNDEFINED, or a code newer than memplan).
    public init?(onnxCode code: Int) {
        let byCode: [TensorDType] = [
            .float32, .uint8, .int8, .uint16, .int16, .int32, .int64, .string, .bool, .float16, .float64, .uint32, .uint64,
            .complex64, .complex128, .bfloat16, .float8E4M3FN, .float8E4M3FNUZ, .float8E5M2, .float8E5M2FNUZ, .uint4, .int4,
            .float4E2M1, .float8E8M0, .uint2, .int2,
        ]
        guard code >= 1, code <= byCode.count else { return nil }
        self = byCode[code - 1]
    }
}

/// Why a tensor stored with the weights is not a parameter.
public enum BufferKind: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// `position_ids`: the indices 0 ..< max_position_embeddings (BERT, GPT-2).
    case positionIDs = "position ids"
    /// Rotary embeddings' `inv_freq` (LLaMA, Mistral, …): computed from the config.
    case rotaryFrequencies = "rotary inv_freq"
    /// BatchNorm's `running_mean`, `running_var`, `num_batches_tracked`: updated by the forward pass, not by the optimizer.
    case batchNormStatistics = "BatchNorm running statistics"
    /// GPT-2's `attn.bias` / `attn.masked_bias`: the causal mask, not a bias.
    case causalMask = "causal mask"
    /// Any integer or boolean tensor: nothing with integer values receives a gradient.
    case integerTensor = "integer tensor"

    public var description: String { rawValue }

    /// The parameter-versus-buffer rule for tensors named as PyTorch names them in a state dict.
    ///
    /// A tensor is a buffer when
    /// - its last name component is `position_ids`, `inv_freq`, `running_mean`, `running_var` or `num_batches_tracked`;
    /// - its last two components are GPT-2's causal-mask buffers `attn.bias`, `attn.masked_bias` (or the
    ///   `crossattention.` ones); `attn.c_attn.bias` is a parameter;
    /// - or its dtype is an integer or boolean type (the rule's catch-all: quantized weights stored as integers
    ///   would be misfiled by it, and are not what memplan trains).
    ///
    /// Everything else is a parameter.
    public static func of(name: String, dtype: TensorDType) -> BufferKind? {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        let last = parts.last.map(String.init) ?? name
        switch last {
        case "position_ids": return .positionIDs
        case "inv_freq": return .rotaryFrequencies
        case "running_mean", "running_var", "num_batches_tracked": return .batchNormStatistics
        case "bias", "masked_bias":
            if parts.count >= 2, ["attn", "crossattention"].contains(parts[parts.count - 2]) { return .causalMask }
        default: break
        }
        return dtype.isInteger ? .integerTensor : nil
    }
}

/// One tensor of a model file: what it holds and how big it is.
public struct ImportedTensor: Sendable, Hashable {
    public var name: String
    public var dtype: TensorDType
    /// Dimensions, outermost first; `[]` is a scalar (one element).
    public var shape: [Int]
    public var elementCount: Int
    public var byteCount: Int
    /// Why the tensor is a buffer; nil for a parameter.
    public var bufferKind: BufferKind?

    public var isParameter: Bool { bufferKind == nil }

    /// A tensor whose counts follow from its shape; nil when they overflow 64 bits or a dimension is negative.
    public init?(name: String, dtype: TensorDType, shape: [Int], bufferKind: BufferKind?) {
        guard let elements = checkedElementCount(shape), let bytes = dtype.byteCount(elements: elements) else { return nil }
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.elementCount = elements
        self.byteCount = bytes
        self.bufferKind = bufferKind
    }
}

/// Tensors of one dtype, added up.
public struct DTypeTotal: Sendable, Hashable {
    public var dtype: TensorDType
    public var tensorCount: Int
    public var elementCount: Int
    public var byteCount: Int

    public init(dtype: TensorDType, tensorCount: Int, elementCount: Int, byteCount: Int) {
        self.dtype = dtype
        self.tensorCount = tensorCount
        self.elementCount = elementCount
        self.byteCount = byteCount
    }

    /// Totals per dtype of `tensors`, most bytes first.
    ///
    /// Sums saturate at Int.max (unreachable for checked tensors
    /// of one file, but an index adds up many).
    public static func totals(_ tensors: [ImportedTensor]) -> [DTypeTotal] {
        var byDType: [TensorDType: DTypeTotal] = [:]
        for tensor in tensors {
            var total = byDType[tensor.dtype] ?? DTypeTotal(dtype: tensor.dtype, tensorCount: 0, elementCount: 0, byteCount: 0)
            total.tensorCount += 1
            total.elementCount = saturatingAdd(total.elementCount, tensor.elementCount)
            total.byteCount = saturatingAdd(total.byteCount, tensor.byteCount)
            byDType[tensor.dtype] = total
        }
        return byDType.values.sorted { ($0.byteCount, $1.dtype.rawValue) > ($1.byteCount, $0.dtype.rawValue) }
    }
}

// MARK: - Checked arithmetic

/// The product of `shape`'s dimensions; nil when one is negative or the product overflows.
func checkedElementCount(_ shape: [Int]) -> Int? {
    guard shape.allSatisfy({ $0 >= 0 }) else { return nil }
    if shape.contains(0) { return 0 }  // exact even when the other dimensions' product would overflow
    var count = 1
    for dimension in shape {
        guard dimension >= 0 else { return nil }
        let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
        guard !overflow else { return nil }
        count = product
    }
    return count
}

func saturatingAdd(_ a: Int, _ b: Int) -> Int {
    let (sum, overflow) = a.addingReportingOverflow(b)
    return overflow ? (b > 0 ? Int.max : Int.min) : sum
}

extension Array where Element == ImportedTensor {
    /// Σ element counts, saturating.
    public var elementCount: Int { reduce(0) { saturatingAdd($0, $1.elementCount) } }
    /// Σ byte counts, saturating.
    public var byteCount: Int { reduce(0) { saturatingAdd($0, $1.byteCount) } }
}
