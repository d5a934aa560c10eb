"""Notes the human formats print beside numbers: broadcast sums and the seed of a tensor output."""


def reduced_notes(evaluation, node_id) -> list:
    """Where the engine summed a broadcast gradient back to an input's shape (the Affine bias)."""
    graph = evaluation.graph
    notes = []
    for entry in evaluation.reduced.get(node_id, ()):
        axes = entry["axes"]
        word = "axis" if len(axes) == 1 else "axes"
        target = graph.names[entry["input"]] or f"#{entry['input']}"
        notes.append(f"gradient to {target} summed over {word} {', '.join(map(str, axes))} (broadcast)")
    return notes


def seed_note(evaluation) -> str:
    shape = getattr(evaluation.value, "shape", ())
    return (f"The output has shape {shape}, not a scalar: reverse mode started from an upstream "
            "gradient of that shape (ones unless --seed was given: the gradient of sum(output)).")
