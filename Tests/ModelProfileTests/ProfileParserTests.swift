import ModelProfile
import TestSupport
import Testing

@Suite("Profile parser")
struct ProfileParserTests {
    @Test("every shipped profile loads", arguments: shippedProfileNames())
    func shippedProfileLoads(name: String) throws {
        let profile = try ProfileParser.load(path: profilePath(name))
        #expect(profile.name == name)
    }

    @Test("the lecture's 3-4-2 network")
    func perceptron342() throws {
        guard case .exact(let model) = try ProfileParser.load(path: profilePath("perceptron-3-4-2")) else {
            Issue.record("expected an exact profile")
            return
        }
        #expect(model.inputWidth == 3)
        #expect(model.layers.map(\.outputWidth) == [4, 2])
        #expect(model.layers.map(\.inputWidth) == [3, 4])
    }

    @Test("the main job's profile says what the issue asks")
    func fashionMLP() throws {
        guard case .exact(let model) = try ProfileParser.load(path: profilePath("fashion-mnist-mlp")) else {
            Issue.record("expected an exact profile")
            return
        }
        #expect(model.inputShape == [28, 28])
        #expect(model.inputWidth == 784)
        #expect(model.layers.map(\.outputWidth) == [256, 128, 10])
        #expect(model.layers.map(\.activation) == [.relu, .relu, .softmax])
        #expect(model.loss == .softmaxCrossEntropy)
        #expect(model.precision == .single)
        #expect(model.batchSize == 128)
        #expect(model.optimizer.kind == .sgd)
        #expect(model.optimizer.learningRate == 0.05)
        #expect(model.epochs == 5)
        #expect(model.data == .fashionMNIST(path: DataSource.defaultFashionMNISTPath, labels: .classes))
    }

    @Test("the quiz is a bound profile")
    func quiz() throws {
        guard case .bound(let bound) = try ProfileParser.load(path: profilePath("quiz-300b")) else {
            Issue.record("expected a bound profile")
            return
        }
        #expect(bound.parameterCount == 300_000_000_000)
        #expect(bound.sampleByteCount == 1_000_000_000)
    }

    @Test("JSON profiles are accepted")
    func json() throws {
        let text =
            #"{"input": {"features": 3}, "hidden": [{"units": 4, "activation": "tanh"}], "output": {"units": 2}, "loss": "l2"}"#
        guard case .exact(let model) = try ProfileParser.parse(text, file: "x.json") else {
            Issue.record("expected an exact profile")
            return
        }
        #expect(model.layers.map(\.activation) == [.tanh, .identity])
    }

    @Test("options have sensible defaults and aliases")
    func aliases() throws {
        let text = """
            input: 4
            output: {units: 3}
            loss: softmax-ce
            precision: fp64
            optimizer: adam
            """
        guard case .exact(let model) = try ProfileParser.parse(text) else {
            Issue.record("expected an exact profile")
            return
        }
        #expect(model.precision == .double)
        #expect(model.optimizer.kind == .adam)
        #expect(model.optimizer.learningRate == 0.001)
        #expect(model.layers[0].activation == .softmax)
        #expect(model.metrics == [.zeroOne])
    }

    @Test("each optimizer reads its own hyper-parameters and refuses another kind's")
    func optimizerKeys() throws {
        let base = "input: 4\noutput: {units: 3}\nloss: softmax-ce\n"
        guard
            case .exact(let model) = try ProfileParser.parse(base + "optimizer: {kind: adamw, weight_decay: 0.1, beta2: 0.95}\n")
        else {
            Issue.record("expected an exact profile")
            return
        }
        #expect(model.optimizer.kind == .adamw)
        #expect(model.optimizer.weightDecay == 0.1)
        #expect(model.optimizer.beta2 == 0.95)
        #expect(model.optimizer.learningRate == 0.001)
        let foreign = error(base + "optimizer: {kind: adam, weight_decay: 0.1}\n")
        #expect(foreign?.description.contains("adam has no weight_decay") == true, "\(String(describing: foreign))")
        let range = error(base + "optimizer: {kind: adamw, weight_decay: 1.5}\n")
        #expect(range?.description.contains("must be in [0, 1)") == true, "\(String(describing: range))")
    }

    // MARK: - Errors: each names the line and says what would be accepted.

    func error(_ text: String) -> ProfileError? {
        do {
            _ = try ProfileParser.parse(text, file: "bad.yaml")
            return nil
        } catch {
            return error
        }
    }

    @Test("an unknown key names its line and the closest valid key")
    func unknownKey() throws {
        let failure = try #require(
            error("input:\n  features: 3\nhidden:\n  - units: 4\n    activaton: relu\noutput: {units: 2}\nloss: l2\n"))
        guard case .unknownKey(let location, let key, _, let suggestion, _) = failure else {
            Issue.record("wrong error: \(failure)")
            return
        }
        #expect(location.line == 5)
        #expect(key == "activaton")
        #expect(suggestion == "activation")
        #expect(failure.description.hasPrefix("bad.yaml:5:5: unknown key 'activaton' in hidden[0]; did you mean 'activation'?"))
    }

    @Test("an unknown top-level key is caught too")
    func unknownTopKey() throws {
        let failure = try #require(error("input: 3\noutput: {units: 1}\nloss: l2\nbatchsize: 4\n"))
        #expect(failure.description.contains("unknown key 'batchsize' in the profile; did you mean 'batch'?"))
        #expect(failure.location?.line == 4)
    }

    @Test("an unknown activation is named with a suggestion")
    func unknownActivation() throws {
        let failure = try #require(error("input: 3\nhidden: [{units: 4, activation: rellu}]\noutput: {units: 1}\nloss: l2\n"))
        #expect(failure.description.contains("unknown activation 'rellu'; did you mean 'relu'?"))
    }

    @Test("negative and zero widths are rejected")
    func widths() throws {
        let negative = try #require(error("input: 3\nhidden: [{units: -4}]\noutput: {units: 1}\nloss: l2\n"))
        #expect(negative.description.contains("invalid units '-4': must not be negative"))
        let zero = try #require(error("input: 3\noutput: {units: 0}\nloss: l2\n"))
        #expect(zero.description.contains("invalid units '0': must be at least 1"))
    }

    @Test("10³⁰ parameters is an error, not a trap")
    func absurd() throws {
        let failure = try #require(error("kind: bound\nparameters: 1e30\nsample_bytes: 1GB\n"))
        #expect(failure.description.contains("invalid parameters '1e30': too large"))
        #expect(failure.location?.line == 2)
    }

    @Test("malformed YAML reports the position")
    func malformed() throws {
        let failure = try #require(error("input:\n  features: 3\n hidden: [\noutput: {units: 2}\n"))
        guard case .malformed(let location, _) = failure else {
            Issue.record("wrong error: \(failure)")
            return
        }
        #expect(location.line == 3)
    }

    @Test("a missing file is reported as such")
    func missingFile() {
        #expect(throws: ProfileError.fileNotFound(path: "/nonexistent/x.yaml")) {
            try ProfileParser.load(path: "/nonexistent/x.yaml")
        }
    }

    @Test("an empty file and a scalar document are errors")
    func emptyAndScalar() throws {
        #expect(error("")?.description.contains("the file is empty") == true)
        #expect(error("42")?.description.contains("must be a mapping") == true)
    }

    @Test("wrong types name what was expected")
    func wrongTypes() throws {
        #expect(error("input: 3\noutput: [1, 2]\nloss: l2\n")?.description.contains("'output' must be a mapping") == true)
        #expect(
            error("input: 3\noutput: {units: {a: 1}}\nloss: l2\n")?.description.contains(
                "'units' must be a whole number, got a mapping") == true)
        #expect(
            error("input: 3\noutput: {units: 1}\nloss: l2\nbatch: many\n")?.description.contains(
                "invalid batch 'many': not a number") == true)
    }

    @Test("missing required fields say what to add")
    func missingFields() throws {
        #expect(error("output: {units: 1}\nloss: l2\n")?.description.contains("the profile is missing 'input'") == true)
        #expect(error("input: 3\noutput: {units: 1}\n")?.description.contains("the profile is missing 'loss'") == true)
        #expect(error("kind: bound\nparameters: 10\n")?.description.contains("missing 'sample_bytes'") == true)
    }

    @Test("hidden layers: each malformed entry names its index, line and what was expected")
    func hiddenLayerShapes() throws {
        let notList = try #require(error("input: 3\nhidden: {units: 4}\noutput: {units: 1}\nloss: l2\n"))
        #expect(notList.description.contains("hidden") && notList.description.contains("a list"), "\(notList)")
        let notMapping = try #require(error("input: 3\nhidden: [{units: 4}, 5]\noutput: {units: 1}\nloss: l2\n"))
        #expect(notMapping.description.contains("hidden[1]") && notMapping.description.contains("a mapping"), "\(notMapping)")
        let missing = try #require(
            error("input: 3\nhidden:\n  - {units: 4}\n  - {activation: tanh}\noutput: {units: 1}\nloss: l2\n"))
        guard case .missingField(let location, let field, let section, _) = missing else {
            Issue.record("wrong error: \(missing)")
            return
        }
        #expect(field == "units" && section == "hidden[1]" && location.line == 4)
        let null = try #require(error("input: 3\nhidden: [{units: ~}]\noutput: {units: 1}\nloss: l2\n"))
        #expect(null.description.contains("units") && null.description.contains("hidden[0]"), "\(null)")
        let badBias = try #require(error("input: 3\nhidden: [{units: 4, bias: maybe}]\noutput: {units: 1}\nloss: l2\n"))
        #expect(badBias.description.contains("true or false"), "\(badBias)")
        // A model error about a hidden layer points at that layer's line.
        let softmax = try #require(
            error("input: 3\nhidden:\n  - {units: 4}\n  - {units: 4, activation: softmax}\noutput: {units: 2}\nloss: l2\n"))
        #expect(softmax.location?.line == 4, "\(softmax)")
        // Defaults: relu, with bias.
        guard
            case .exact(let model) = try ProfileParser.parse(
                "input: 3\nhidden: [{units: 4}, {units: 5, activation: tanh, bias: false}]\noutput: {units: 1}\nloss: l2\n")
        else {
            Issue.record("not an exact profile")
            return
        }
        #expect(model.layers.map(\.outputWidth) == [4, 5, 1])
        #expect(model.layers[0].activation == .relu && model.layers[0].hasBias)
        #expect(model.layers[1].activation == .tanh && !model.layers[1].hasBias)
    }

    @Test("a loss that does not fit the output is rejected")
    func lossMismatch() throws {
        #expect(
            error("input: 3\noutput: {units: 1}\nloss: softmax-ce\n")?.description.contains("needs at least 2 output units")
                == true)
        #expect(
            error("input: 3\noutput: {units: 2, activation: relu}\nloss: bce\n")?.description.contains(
                "needs a sigmoid output layer") == true)
        #expect(
            error("input: 3\nhidden: [{units: 4, activation: softmax}]\noutput: {units: 2}\nloss: l2\n")?.description.contains(
                "softmax is only allowed on the output layer") == true)
    }

    @Test("data that does not fit the model is rejected")
    func dataMismatch() throws {
        #expect(
            error("input: 10\noutput: {units: 10}\nloss: softmax-ce\ndata: {source: fashion-mnist}\n")?.description.contains(
                "784 features") == true)
        #expect(
            error("input: 784\noutput: {units: 3}\nloss: softmax-ce\ndata: {source: fashion-mnist}\n")?.description.contains(
                "10 target(s)") == true)
        #expect(
            error("input: 3\noutput: {units: 1}\nloss: l2\ndata: {source: polynomial, degree: 4}\n")?.description.contains(
                "degree-4 polynomial has 4 features") == true)
        #expect(
            error("input: 3\noutput: {units: 1}\nloss: l2\ndata: {source: imagenet}\n")?.description.contains(
                "unknown data source 'imagenet'") == true)
        #expect(
            error("input: 3\noutput: {units: 1}\nloss: l2\ndata: {source: synthetic, coun: 5}\n")?.description.contains(
                "did you mean 'count'?") == true)
    }

    @Test("out-of-range hyper-parameters are rejected")
    func hyperParameters() throws {
        #expect(
            error("input: 3\noutput: {units: 1}\nloss: l2\noptimizer: {kind: sgd, learning_rate: -1}\n")?.description.contains(
                "must be positive") == true)
        #expect(
            error("input: 3\noutput: {units: 1}\nloss: l2\nsplit: {validation: 1.5}\n")?.description.contains("[0, 1)") == true)
        #expect(error("input: 3\noutput: {units: 1}\nloss: l2\nsplit: {folds: 1}\n")?.description.contains("at least 2") == true)
        #expect(
            error("input: 3\noutput: {units: 1}\nloss: l2\noptimizer: {kind: nesterov}\n")?.description.contains(
                "unknown optimizer 'nesterov'") == true)
        #expect(
            error("input: 3\noutput: {units: 1}\nloss: l2\nprecision: quad\n")?.description.contains("unknown precision 'quad'")
                == true)
    }

    @Test("duplicate keys are malformed")
    func duplicates() throws {
        #expect(error("input: 3\ninput: 4\noutput: {units: 1}\nloss: l2\n")?.description.contains("duplicate") == true)
    }
}
