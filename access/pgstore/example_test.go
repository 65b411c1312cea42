package pgstore_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/possession-dev/possession/access/pgstore"
)

func ExampleNew_errors() {
	ctx := context.Background()
	// New checks its arguments before it talks to the database.
	_, err := pgstore.New(ctx, nil)
	fmt.Println(errors.Is(err, pgstore.ErrInvalidArgument))
	_, err = pgstore.New(ctx, nil, pgstore.WithSchema(""))
	fmt.Println(err)
	// Output:
	// true
	// pgstore: invalid option: schema "": want 1 to 63 bytes
}
