package httpx_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/transport/internal/httpx"
)

func ExampleReadBody() {
	body, err := httpx.ReadBody(strings.NewReader(`[{"channel":"/a"}]`), -1, 1<<10)
	fmt.Println(string(body), err)
	_, err = httpx.ReadBody(strings.NewReader(strings.Repeat(" ", 2000)), -1, 1<<10)
	fmt.Println(errors.Is(err, bayeux.ErrTooLarge))
	// Output:
	// [{"channel":"/a"}] <nil>
	// true
}
