// The dataset's buffers in the arena, as the loader writes them and the trainer gathers batches from them.

/// Feature rows in the arena: elements of the model's precision, or bytes read as byte / 255
/// (`FeatureStorage.byte`: image files' pixel intensities, kept as the files hold them).
public enum FeatureRows<T: BinaryFloatingPoint> {
    /// (rows, I) in T
    case scalars(UnsafeMutablePointer<T>)
    /// (rows, I) bytes; feature = T(byte) · (1 / 255), exactly what decoding to T up front would store
    case bytes(UnsafeMutablePointer<UInt8>)

    /// The elements of a `.scalars` store; only sources that plan `FeatureStorage.precision` write here.
    public var scalars: UnsafeMutablePointer<T> {
        guard case .scalars(let values) = self else {
            preconditionFailure("FeatureRows: byte-stored features have no scalar view")
        }
        return values
    }

    /// The bytes of a `.bytes` store; only sources that plan `FeatureStorage.byte` (image files) write here.
    public var bytes: UnsafeMutablePointer<UInt8> {
        guard case .bytes(let bytes) = self else {
            preconditionFailure("FeatureRows: precision-stored features have no byte view")
        }
        return bytes
    }
}

/// The dataset in the arena. Shapes: N = trainCount, M = testCount, I = features, K = targets.
public struct DataTensors<T: BinaryFloatingPoint> {
    public let trainCount: Int
    public let testCount: Int
    public let featureWidth: Int
    public let targetWidth: Int
    /// (N, I)
    public let trainFeatures: FeatureRows<T>
    /// (N, K)
    public let trainTargets: UnsafeMutablePointer<T>
    /// (M, I)
    public let testFeatures: FeatureRows<T>
    /// (M, K)
    public let testTargets: UnsafeMutablePointer<T>
    /// (N): a permutation of 0 ..< N; its tail is the validation set
    public let order: UnsafeMutablePointer<Int32>

    public init(
        trainCount: Int, testCount: Int, featureWidth: Int, targetWidth: Int, trainFeatures: FeatureRows<T>,
        trainTargets: UnsafeMutablePointer<T>, testFeatures: FeatureRows<T>, testTargets: UnsafeMutablePointer<T>,
        order: UnsafeMutablePointer<Int32>
    ) {
        self.trainCount = trainCount
        self.testCount = testCount
        self.featureWidth = featureWidth
        self.targetWidth = targetWidth
        self.trainFeatures = trainFeatures
        self.trainTargets = trainTargets
        self.testFeatures = testFeatures
        self.testTargets = testTargets
        self.order = order
    }
}
