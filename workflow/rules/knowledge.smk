# Stage 4: grade the samples and label each question "I know" (Ik) or not.


rule label_knowledge:
    input:
        questions=LAYOUT.questions(),
        samples=LAYOUT.samples(),
    output:
        LAYOUT.knowledge(),
    params:
        threshold=per_model(PLAN.knowledge_threshold),
        **grading_params(),
    conda:
        "../envs/data.yaml"
    log:
        f"{RESULTS}/logs/label_knowledge/{{model}}/{{dataset}}_{{split}}.log",
    # deterministic: a failure is bad input or a bug, and fails the same way again
    retries: 0
    localrule: True
    script:
        "../scripts/label_knowledge.py"
