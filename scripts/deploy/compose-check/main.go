// compose-check loads a compose file the way Compose v2 (`docker compose`) does, with
// compose-go, the Compose Specification's reference loader, and prints each service with what
// it waits for. A file v2 would refuse makes it exit 1 with v2's own message.
//
//	go run . ../../../docker-compose.yml ../../../.env.example
package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: compose-check COMPOSE_FILE ENV_FILE")
		os.Exit(2)
	}
	options, err := cli.NewProjectOptions(
		[]string{os.Args[1]},
		cli.WithName("wangge-check"),
		cli.WithEnvFiles(os.Args[2]),
		cli.WithDotEnv,
		cli.WithProfiles([]string{"otel"}),
	)
	if err != nil {
		fail(err)
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		fail(err)
	}
	names := project.ServiceNames()
	sort.Strings(names)
	for _, name := range names {
		var waits []string
		for dependency, how := range project.Services[name].DependsOn {
			waits = append(waits, dependency+"="+how.Condition)
		}
		sort.Strings(waits)
		fmt.Printf("%s\t%s\n", name, strings.Join(waits, ","))
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
