package redisstore_test

import (
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/possession-dev/possession/access/redisstore"
)

func ExampleNew() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()

	// New does not talk to Redis; options are checked at once.
	store, err := redisstore.New(rdb, redisstore.WithPrefix("myapp:tokens:"))
	fmt.Println(store != nil, err)

	_, err = redisstore.New(rdb, redisstore.WithPrefix(""))
	fmt.Println(errors.Is(err, redisstore.ErrInvalidOption))
	// Output:
	// true <nil>
	// true
}
