//! DynamoDB store. (Being written.)
