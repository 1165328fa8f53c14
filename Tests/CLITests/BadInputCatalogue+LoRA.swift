/// A small transformer profile; each LoRA entry adds its adapters.
private let base = "kind: transformer\nname: bad\nvocabulary: 64\ncontext: 8\nlayers: 1\nheads: 4\nhidden: 32\nbatch: 2\n"

/// LoRA adapters that cannot be: each is refused in one line, exit 2.
let loraCatalogue: [BadInput] = [
    BadInput(
        name: "LoRA rank 0", files: ["t.yaml": text(base + "lora: {rank: 0, targets: [q, v]}\n")],
        arguments: ["estimate", "$DIR/t.yaml"], message: ["t.yaml:9", "invalid lora.rank '0'", "at least 1"]),
    BadInput(
        name: "LoRA rank larger than the matrix", files: ["t.yaml": text(base + "lora: {rank: 64, targets: [q, v]}\n")],
        arguments: ["plan", "$DIR/t.yaml"], message: ["lora rank 64 exceeds the q projection (32 → 32)", "at most 32"]),
    BadInput(
        name: "LoRA unknown target", files: ["t.yaml": text(base + "lora: {rank: 4, targets: [q, value]}\n")],
        arguments: ["estimate", "$DIR/t.yaml"], message: ["unknown lora target 'value'", "q, k, v, o, gate, up, down"]),
    BadInput(
        name: "LoRA with no targets: nothing trains", files: ["t.yaml": text(base + "lora: {rank: 4, targets: []}\n")],
        arguments: ["capacity", "$DIR/t.yaml"], message: ["at least one target", "nothing trains"]),
    BadInput(
        name: "LoRA gate on a GELU network", files: ["t.yaml": text(base + "lora: {rank: 4, targets: [gate]}\n")],
        arguments: ["estimate", "$DIR/t.yaml"], message: ["'gate' needs a SwiGLU"]),
    BadInput(
        name: "LoRA on an MLP profile", files: ["p.yaml": text(mlp + "lora: {rank: 4, targets: [q]}\n")],
        arguments: ["estimate", "$DIR/p.yaml"], message: ["lora adapters apply to transformer profiles"]),
    BadInput(
        name: "training a LoRA profile",
        files: ["t.yaml": text(base + "data: {source: synthetic}\nlora: {rank: 4, targets: [q, v]}\n")],
        arguments: ["train", "$DIR/t.yaml"], message: ["memplan train cannot train LoRA adapters", "remove the lora key"]),
]
