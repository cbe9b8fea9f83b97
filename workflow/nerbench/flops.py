"""The model's FLOPs: a transformer encoder's work per sequence, by part. Per layer and sequence of
n tokens: 8·n·d² (Q, K, V, output projections) + 4·n²·d (scores and weighted sum) + 4·n·d·f
(feed-forward; 6·n·d·f for a gated one), d the hidden size, f the feed-forward size; embeddings,
layer norms and the classifier are left out (under 1%), and so are DeBERTa's relative-position
terms. Counted by report/flops.py for the corpus, and used by the roofline for its products' shapes.
"""


def model_shape(config: dict) -> dict:
    if "dim" in config:  # DistilBERT
        return {"layers": config["n_layers"], "hidden": config["dim"], "ffn": config["hidden_dim"], "gated": False}
    return {
        "layers": config["num_hidden_layers"],
        "hidden": config["hidden_size"],
        "ffn": config["intermediate_size"],
        "gated": config.get("model_type") == "modernbert",  # GeGLU: the input projection is twice as wide
    }


def positionwise_flops(length: int, shape: dict) -> float:
    """The projections and the feed-forward layer: work in proportion to the tokens."""
    d, f = shape["hidden"], shape["ffn"]
    feed_forward = (6 if shape["gated"] else 4) * length * d * f
    return shape["layers"] * (8 * length * d * d + feed_forward)


def attention_flops(length: int, shape: dict) -> float:
    """Scores and weighted sum: work in proportion to the square of the sequence's length."""
    return shape["layers"] * 4 * length * length * shape["hidden"]


def sequence_flops(length: int, shape: dict) -> float:
    return positionwise_flops(length, shape) + attention_flops(length, shape)


def weight_parameters(shape: dict) -> int:
    """The encoder's weights that its products read (projections and feed-forward; a gated
    feed-forward's input projection is twice as wide)."""
    d, f = shape["hidden"], shape["ffn"]
    return shape["layers"] * (4 * d * d + (3 if shape["gated"] else 2) * d * f)


# Bytes per weight in each number format: what a batch reads of memory.
BYTES_PER_WEIGHT = {"fp32": 4, "fp16": 2, "bf16": 2, "int8": 1}


def flops_key(batch_size: int, sort: bool, token_budget: bool = False) -> str:
    """How flops.json names the padded work of one way of batching the corpus."""
    return f"{batch_size}{'+sort' if sort else ''}{'+budget' if token_budget else ''}"
