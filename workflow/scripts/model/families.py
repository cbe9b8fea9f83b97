"""Random-weight token classifiers of every encoder family nerbench runs, each with a real tokenizer
of its kind trained here, offline, on CoNLL-2003 train text (model.source: random, preset
<family>-tiny). They are small, so the test suite can run every family through every method;
their predictions mean nothing, but every method must still agree on them byte for byte.

| family      | transformers classes                 | tokenizer                                    |
|-------------|--------------------------------------|----------------------------------------------|
| distilbert  | DistilBert*                          | WordPiece, uncased                           |
| bert        | Bert*                                | WordPiece, cased; token_type_ids             |
| electra     | Electra*                             | WordPiece, uncased; token_type_ids           |
| roberta     | Roberta*                             | byte-level BPE, <s> </s>, trimmed offsets     |
| xlm-roberta | XLMRoberta*                          | Unigram with "▁" pieces (SentencePiece-like) |
| deberta-v2  | DebertaV2* (the v3 checkpoints' own) | Unigram with "▁" pieces, [CLS] [SEP]          |
| modernbert  | ModernBert*                          | byte-level BPE, [CLS] [SEP]                  |
"""

from dataclasses import dataclass

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

VOCABULARY = 4000
SHAPE = {"hidden": 128, "layers": 2, "heads": 4, "intermediate": 256, "positions": 512}


@dataclass(frozen=True)
class Family:
    config: str  # transformers configuration class
    model: str  # transformers token-classification class
    tokenizer: str  # a builder below
    fast_tokenizer: str  # the transformers fast-tokenizer class that wraps it
    specials: dict  # role -> token


WORDPIECE_SPECIALS = {"pad": "[PAD]", "unk": "[UNK]", "cls": "[CLS]", "sep": "[SEP]", "mask": "[MASK]"}
ROBERTA_SPECIALS = {"cls": "<s>", "pad": "<pad>", "sep": "</s>", "unk": "<unk>", "mask": "<mask>"}

FAMILIES = {
    "distilbert": Family(
        "DistilBertConfig",
        "DistilBertForTokenClassification",
        "wordpiece_uncased",
        "DistilBertTokenizerFast",
        WORDPIECE_SPECIALS,
    ),
    "bert": Family(
        "BertConfig", "BertForTokenClassification", "wordpiece_cased", "BertTokenizerFast", WORDPIECE_SPECIALS
    ),
    "electra": Family(
        "ElectraConfig",
        "ElectraForTokenClassification",
        "wordpiece_uncased",
        "ElectraTokenizerFast",
        WORDPIECE_SPECIALS,
    ),
    "roberta": Family(
        "RobertaConfig", "RobertaForTokenClassification", "byte_level_bpe", "RobertaTokenizerFast", ROBERTA_SPECIALS
    ),
    "xlm-roberta": Family(
        "XLMRobertaConfig", "XLMRobertaForTokenClassification", "unigram", "XLMRobertaTokenizerFast", ROBERTA_SPECIALS
    ),
    "deberta-v2": Family(
        "DebertaV2Config", "DebertaV2ForTokenClassification", "unigram", "DebertaV2TokenizerFast", WORDPIECE_SPECIALS
    ),
    "modernbert": Family(
        "ModernBertConfig",
        "ModernBertForTokenClassification",
        "byte_level_bpe",
        "PreTrainedTokenizerFast",
        WORDPIECE_SPECIALS,
    ),
}
PRESETS = {f"{name}-tiny": name for name in FAMILIES}


# ---- tokenizers --------------------------------------------------------------------------


def special_tokens(family: Family) -> list[str]:
    return list(dict.fromkeys(family.specials[role] for role in ("cls", "pad", "sep", "unk", "mask")))


def wordpiece(family: Family, lowercase: bool) -> tuple[Tokenizer, trainers.Trainer]:
    tokenizer = Tokenizer(models.WordPiece(unk_token=family.specials["unk"]))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=lowercase, strip_accents=None)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece()
    return tokenizer, trainers.WordPieceTrainer(vocab_size=VOCABULARY, special_tokens=special_tokens(family))


def byte_level_bpe(family: Family) -> tuple[Tokenizer, trainers.Trainer]:
    tokenizer = Tokenizer(models.BPE(unk_token=None))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCABULARY,
        special_tokens=special_tokens(family),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    return tokenizer, trainer


def unigram(family: Family) -> tuple[Tokenizer, trainers.Trainer]:
    tokenizer = Tokenizer(models.Unigram())
    # SentencePiece's own normalisation (nmt_nfkc) and the converters' space handling.
    tokenizer.normalizer = normalizers.Sequence(
        [normalizers.NFKC(), normalizers.Strip(left=False, right=True), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    trainer = trainers.UnigramTrainer(
        vocab_size=VOCABULARY, special_tokens=special_tokens(family), unk_token=family.specials["unk"]
    )
    return tokenizer, trainer


BUILDERS = {
    "wordpiece_cased": lambda family: wordpiece(family, lowercase=False),
    "wordpiece_uncased": lambda family: wordpiece(family, lowercase=True),
    "byte_level_bpe": byte_level_bpe,
    "unigram": unigram,
}


def post_processor(name: str, family: Family, tokenizer: Tokenizer):
    cls, sep = family.specials["cls"], family.specials["sep"]
    ids = {token: tokenizer.token_to_id(token) for token in (cls, sep)}
    if name == "roberta":
        # RoBERTa's own: offsets trimmed of the leading space byte-level BPE keeps in its tokens.
        return processors.RobertaProcessing((sep, ids[sep]), (cls, ids[cls]), trim_offsets=True, add_prefix_space=False)
    return processors.TemplateProcessing(
        single=f"{cls}:0 $A:0 {sep}:0", pair=f"{cls}:0 $A:0 {sep}:0 $B:1 {sep}:1", special_tokens=list(ids.items())
    )


def train_tokenizer(name: str, sentences: list[str]):
    """The family's fast tokenizer, trained on these sentences."""
    family = FAMILIES[name]
    tokenizer, trainer = BUILDERS[family.tokenizer](family)
    tokenizer.train_from_iterator(sentences, trainer)
    tokenizer.post_processor = post_processor(name, family, tokenizer)
    roles = {f"{role}_token": token for role, token in family.specials.items()}
    fast = transformers_class(family.fast_tokenizer)(tokenizer_object=tokenizer, **roles)
    if name == "modernbert":  # ModernBERT's tokenizer is a plain PreTrainedTokenizerFast without token types
        fast.model_input_names = ["input_ids", "attention_mask"]
        fast.init_kwargs["model_input_names"] = fast.model_input_names  # what tokenizer_config.json keeps
    return fast


def transformers_class(name: str):
    """A transformers class by name, imported on first use: transformers takes seconds to import,
    and build_model.py's checks of a user's files should not wait for it."""
    import transformers

    return getattr(transformers, name)


# ---- models ------------------------------------------------------------------------------


def family_config(name: str, tokenizer, labels: list[str]):
    """A tiny configuration of the family, sized to the tokenizer and the CoNLL label set."""
    family = FAMILIES[name]
    ids = {f"{role}_token_id": tokenizer.convert_tokens_to_ids(token) for role, token in family.specials.items()}
    common = {
        "vocab_size": len(tokenizer),
        "id2label": dict(enumerate(labels)),
        "label2id": {label: index for index, label in enumerate(labels)},
        "pad_token_id": ids["pad_token_id"],
    }
    if name == "distilbert":
        shape = {"dim": SHAPE["hidden"], "n_layers": SHAPE["layers"], "n_heads": SHAPE["heads"]}
        shape.update(hidden_dim=SHAPE["intermediate"], max_position_embeddings=SHAPE["positions"])
        return transformers_class("DistilBertConfig")(**shape, **common)
    shape = {
        "hidden_size": SHAPE["hidden"],
        "num_hidden_layers": SHAPE["layers"],
        "num_attention_heads": SHAPE["heads"],
        "intermediate_size": SHAPE["intermediate"],
        "max_position_embeddings": SHAPE["positions"],
    }
    extra = {
        # Position ids start after the padding index: two more rows than the 512 usable positions.
        "roberta": {"max_position_embeddings": SHAPE["positions"] + 2, "type_vocab_size": 1},
        "xlm-roberta": {"max_position_embeddings": SHAPE["positions"] + 2, "type_vocab_size": 1},
        "electra": {"embedding_size": SHAPE["hidden"] // 2},
        # What microsoft/deberta-v3-* configure: relative positions only, no token types.
        "deberta-v2": {
            "type_vocab_size": 0,
            "relative_attention": True,
            "position_biased_input": False,
            "pos_att_type": ["p2c", "c2p"],
            "max_relative_positions": -1,
            "position_buckets": 256,
            "norm_rel_ebd": "layer_norm",
            "share_att_key": True,
        },
        "modernbert": {
            "cls_token_id": ids["cls_token_id"],
            "sep_token_id": ids["sep_token_id"],
            "bos_token_id": ids["cls_token_id"],
            "eos_token_id": ids["sep_token_id"],
            "global_attn_every_n_layers": 2,
            "local_attention": 128,
        },
    }.get(name, {})
    return transformers_class(FAMILIES[name].config)(**{**shape, **extra}, **common)


def random_model(name: str, tokenizer, labels: list[str]):
    config = family_config(name, tokenizer, labels)
    return transformers_class(FAMILIES[name].model)(config)
