# Stage 5: refusal-aware training data, one builder per method (rait.construct.BUILDERS).


rule build_idk_sft:
    input:
        unpack(train_inputs),
    output:
        f"{RESULTS}/train_data/{{model}}_sft.jsonl",
    params:
        builder="idk_sft",
        options=builder_options,
    log:
        f"{RESULTS}/logs/build_idk_sft/{{model}}.log",
    conda:
        "../../envs/data.yaml"
    localrule: True
    script:
        "../scripts/build_train_data.py"


rule split_dpo_halves:
    """Say-I-Dont-Know's DPO: Idk-SFT data for one half of the train questions, the other half to sample."""
    input:
        unpack(train_inputs),
    output:
        sft=f"{RESULTS}/train_data/{{model}}_sft_half.jsonl",
        questions=f"{RESULTS}/train_data/{{model}}_dpo_questions.jsonl",
    params:
        options=builder_options,
    log:
        f"{RESULTS}/logs/split_dpo_halves/{{model}}.log",
    conda:
        "../../envs/data.yaml"
    localrule: True
    script:
        "../scripts/split_dpo_halves.py"


rule build_dpo_pairs:
    input:
        unpack(train_inputs),
        policy_samples=f"{RESULTS}/samples/{{model}}/sft_half/dpo_questions.jsonl",
    output:
        f"{RESULTS}/train_data/{{model}}_dpo_pairs.jsonl",
    params:
        builder="idk_dpo",
        options=builder_options,
    log:
        f"{RESULTS}/logs/build_dpo_pairs/{{model}}.log",
    conda:
        "../../envs/data.yaml"
    localrule: True
    script:
        "../scripts/build_train_data.py"


rule build_craft_data:
    """CRaFT's selection and its baselines (rait.construct.craft), per METHODS[method]["builder"]."""
    input:
        unpack(craft_inputs),
    output:
        f"{RESULTS}/train_data/{{model}}_{{method}}.jsonl",
    wildcard_constraints:
        method="|".join(CRAFT_METHODS),
    params:
        builder=lambda wildcards: METHODS[wildcards.method]["builder"],
        options=craft_builder_options,
    log:
        f"{RESULTS}/logs/build_craft_data/{{model}}_{{method}}.log",
    conda:
        "../../envs/data.yaml"
    localrule: True
    script:
        "../scripts/build_train_data.py"


rule build_honesty_data:
    """Alignment for Honesty's ABSOLUTE, CONFIDENCE-NUM/VERB and MULTISAMPLE sets (rait.construct.honesty)."""
    input:
        unpack(train_inputs),
    output:
        f"{RESULTS}/train_data/{{model}}_{{method}}.jsonl",
    wildcard_constraints:
        method="|".join(HONESTY_METHODS),
    params:
        builder=lambda wildcards: METHODS[wildcards.method]["builder"],
        options=honesty_builder_options,
    log:
        f"{RESULTS}/logs/build_honesty_data/{{model}}_{{method}}.log",
    conda:
        "../../envs/data.yaml"
    localrule: True
    script:
        "../scripts/build_train_data.py"
