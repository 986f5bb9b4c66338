package wire_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/wire"
)

func ExampleReadBody() {
	body, err := wire.ReadBody(strings.NewReader(`[{"channel":"/a"}]`), -1, 1<<10)
	fmt.Println(string(body), err)
	_, err = wire.ReadBody(strings.NewReader(strings.Repeat(" ", 2000)), -1, 1<<10)
	fmt.Println(errors.Is(err, bayeux.ErrTooLarge))
	// Output:
	// [{"channel":"/a"}] <nil>
	// true
}
