/// An MLP whose hidden layer is frozen; each entry adds what makes it bad.
private let frozenHidden =
    "input: {features: 4}\nhidden:\n  - units: 3\n    frozen: true\noutput: {units: 2}\nloss: softmax-cross-entropy\n"

/// Frozen layers and loss scaling that cannot be: each is refused in one line, exit 2.
let frozenCatalogue: [BadInput] = [
    BadInput(
        name: "fp16-mixed with loss_scaling: none",
        files: ["p.yaml": text(mlp + "precision: fp16-mixed\nloss_scaling: none\n")],
        arguments: ["estimate", "$DIR/p.yaml"],
        message: ["p.yaml:5", "fp16-mixed needs loss scaling", "use loss_scaling: dynamic or bf16-mixed"]),
    BadInput(
        name: "--precision fp16-mixed against loss_scaling: none",
        files: ["p.yaml": text(mlp + "loss_scaling: none\n")],
        arguments: ["plan", "$DIR/p.yaml", "--precision", "fp16-mixed"],
        message: ["p.yaml: precision fp16-mixed needs loss scaling", "5-bit exponent underflows small gradients"]),
    BadInput(
        name: "capacity at fp16-mixed against loss_scaling: none",
        files: ["p.yaml": text(mlp + "loss_scaling: none\n")],
        arguments: ["capacity", "$DIR/p.yaml", "--precision", "single,fp16-mixed", "--no-data"],
        message: ["p.yaml: precision fp16-mixed needs loss scaling"]),
    BadInput(
        name: "fp16-mixed transformer with loss_scaling: none",
        files: [
            "t.yaml": text(
                "kind: transformer\nname: bad\nvocabulary: 64\ncontext: 8\nlayers: 1\nheads: 4\nhidden: 32\n"
                    + "precision: fp16-mixed\nloss_scaling: none\n")
        ],
        arguments: ["estimate", "$DIR/t.yaml"], message: ["t.yaml:9", "fp16-mixed needs loss scaling"]),
    BadInput(
        name: "unknown loss_scaling", files: ["p.yaml": text(mlp + "loss_scaling: static\n")],
        arguments: ["estimate", "$DIR/p.yaml"], message: ["unknown loss_scaling 'static'", "dynamic, none"]),
    BadInput(
        name: "every layer frozen: nothing trains",
        files: [
            "p.yaml": text(
                "input: {features: 4}\nhidden:\n  - units: 3\n    frozen: true\noutput: {units: 2, frozen: true}\n"
                    + "loss: softmax-cross-entropy\n")
        ],
        arguments: ["estimate", "$DIR/p.yaml"], message: ["p.yaml:5", "every layer is frozen", "nothing trains"]),
    BadInput(
        name: "frozen that is not a boolean", files: ["p.yaml": text(frozenHidden.replacing("frozen: true", with: "frozen: 3"))],
        arguments: ["estimate", "$DIR/p.yaml"], message: ["p.yaml:4", "frozen"]),
    BadInput(
        name: "training a profile with a frozen layer",
        files: ["p.yaml": text(frozenHidden + "data: {source: synthetic}\n")],
        arguments: ["train", "$DIR/p.yaml"], message: ["memplan train cannot freeze layers", "layer 1 is frozen"]),
]
