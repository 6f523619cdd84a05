package copilot

import (
	"os/exec"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/libcopilot/libcopilot/bindings/go/rpc"
)

// The in-process transport carries a turn with no CLI process, and a Go
// program that spawns and reaps children of its own afterwards, while the
// runtime (and the libuv SIGCHLD handler it installs) is loaded, survives:
// the handler was given SA_ONSTACK.
func TestInProcessConnectionCarriesATurnAndGoReapsChildren(t *testing.T) {
	env := newEnv(t, "chat.yaml")
	no := false
	client := NewClient(&ClientOptions{
		Connection:      InProcessConnection{},
		CLIPath:         cliPath(t),
		Env:             isolatedEnv(t, env.home),
		UseLoggedInUser: &no,
	})
	t.Cleanup(func() { _ = client.Stop(); client.Close() })
	ctx := within(t, 60*time.Second)
	if err := client.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if pid := client.PID(); pid != 0 {
		t.Fatalf("a CLI process (pid %d) in process mode", pid)
	}
	s, err := client.CreateSession(ctx, env.config(SessionConfig{}))
	if err != nil {
		t.Fatal(err)
	}
	answer, err := s.SendAndWait(ctx, MessageOptions{Prompt: "What is the capital of France?"})
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := answer.Data.(*AssistantMessageData); !ok || d.Content != "The capital of France is Paris." {
		t.Fatalf("answer: %+v", answer.Data)
	}
	// The runtime runs shell commands through libuv, which installs its
	// SIGCHLD handler then.
	before, _ := sigaction(syscall.SIGCHLD)
	if _, err := s.RPC.Shell.Exec(ctx, &rpc.ShellExecRequest{Command: "true"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if h, flags := sigaction(syscall.SIGCHLD); h != before {
		t.Logf("the runtime installed SIGCHLD handler %#x (flags %#x)", h, flags)
	}
	for i := 0; i < 20; i++ {
		if err := exec.Command("true").Run(); err != nil {
			t.Fatalf("child %d: %v", i, err)
		}
	}
	if err := client.Stop(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		if err := exec.Command("true").Run(); err != nil {
			t.Fatalf("child %d after stop: %v", i, err)
		}
	}
	if h, flags := sigaction(syscall.SIGCHLD); h > 1 && flags&saOnStack == 0 {
		t.Fatalf("SIGCHLD handler %#x without SA_ONSTACK (flags %#x)", h, flags)
	}
}

// WorkingDirectory cannot apply in process: the runtime shares this process's.
func TestInProcessConnectionRefusesWorkingDirectory(t *testing.T) {
	client := NewClient(&ClientOptions{Connection: InProcessConnection{}, WorkingDirectory: "/tmp"})
	defer client.Close()
	if err := client.Start(within(t, 10*time.Second)); !isStatus(err, StatusInvalidArgument) {
		t.Fatalf("Start: %v", err)
	}
}

const saOnStack = 0x08000000

// sigaction reads a signal's handler and flags (linux/amd64 and arm64 layout).
func sigaction(sig syscall.Signal) (handler uintptr, flags uint64) {
	var act struct {
		handler  uintptr
		flags    uint64
		restorer uintptr
		mask     uint64
	}
	syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), 0, uintptr(unsafe.Pointer(&act)), 8, 0, 0)
	return act.handler, act.flags
}
