from rait.models import convert_gguf, package_file
from rait.workflow import run


def main(sm):
    convert_gguf(package_file(sm.params.package, sm.params.file), sm.output[0])


run(snakemake, main)
