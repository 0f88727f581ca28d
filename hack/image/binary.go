package main

import (
	"debug/elf"
	"fmt"
)

// elfMachines maps the GOARCH values flotilla is built for to their ELF machine.
var elfMachines = map[string]elf.Machine{
	"amd64":   elf.EM_X86_64,
	"arm64":   elf.EM_AARCH64,
	"ppc64le": elf.EM_PPC64,
	"s390x":   elf.EM_S390,
	"riscv64": elf.EM_RISCV,
}

// checkBinary refuses a binary that could not run in the image: the image has no libc and
// no dynamic loader, so the binary must be a static Linux ELF for arch (CGO_ENABLED=0). A
// dynamic one would fail only at start, in the cluster, with a bare "no such file or
// directory".
func checkBinary(path, arch string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("binary %s is not a Linux ELF executable: %w", path, err)
	}
	defer f.Close()
	want, known := elfMachines[arch]
	if !known {
		return fmt.Errorf("architecture %q is not one the image is built for (one of amd64, arm64, ppc64le, s390x, riscv64)", arch)
	}
	if f.Machine != want {
		return fmt.Errorf("binary %s is for %s, not %s (build it with GOARCH=%s)", path, f.Machine, arch, arch)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("binary %s is dynamically linked, and the image has no libc: build it with CGO_ENABLED=0", path)
		}
	}
	return nil
}
